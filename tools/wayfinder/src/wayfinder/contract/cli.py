"""`wayfinder telemetry check` and `wayfinder telemetry docs`: the contract's command-line faces.

Exit codes: 0 clean, 1 the telemetry (or docs/telemetry.md) breaks the contract, 2 the command
could not run (unreadable registry, missing store or capture, bad arguments).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from wayfinder.contract.registry import Registry, RegistryError, load_registry

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    """Add `telemetry check` and `telemetry docs` (sharing `telemetry` with other areas)."""
    telemetry = _telemetry_commands(subparsers)
    check = telemetry.add_parser(
        "check",
        help="check captured telemetry against the registry",
        description="Test spans, logs and metric points against telemetry/registry and the review "
        "checklist. Exits 1 on any violation.",
    )
    source = check.add_mutually_exclusive_group()
    source.add_argument("--db", type=Path, help="the telemetry store (default: .wayfinder/telemetry.db)")
    source.add_argument("--capture", type=Path, help="a JSON-lines OTLP capture file instead of the store")
    check.add_argument("--registry", type=Path, help="the registry folder (default: telemetry/registry)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument(
        "--window-minutes", type=_positive_minutes, help="only the newest N minutes of the data"
    )
    check.set_defaults(handler=_check)

    docs = telemetry.add_parser(
        "docs",
        help="render docs/telemetry.md from the registry",
        description="Regenerate the vocabulary tables of docs/telemetry.md; hand-written parts stay.",
    )
    docs.add_argument("--check", action="store_true", help="exit 1 if the file is stale, write nothing")
    docs.add_argument("--registry", type=Path, help="the registry folder (default: telemetry/registry)")
    docs.add_argument("--output", type=Path, help="the file to render (default: docs/telemetry.md)")
    docs.set_defaults(handler=_docs)


def _telemetry_commands(subparsers: Any) -> Any:
    # Another area may register `telemetry` sub-commands too: reuse its group if it exists.
    existing = subparsers.choices.get("telemetry")
    if existing is not None:
        for action in existing._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
    parser = subparsers.add_parser("telemetry", help="the telemetry contract: check and docs")
    return parser.add_subparsers(dest="telemetry_command", required=True, metavar="COMMAND")


def _positive_minutes(text: str) -> float:
    minutes = float(text)
    if minutes <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return minutes


def project_root() -> Path:
    try:
        from wayfinder.local.config import find_project_root
    except ImportError:  # local mode is optional for the checker
        return Path.cwd()
    return find_project_root()


def _default_db() -> Path:
    try:
        from wayfinder.local.config import LocalConfig
    except ImportError:
        return project_root() / ".wayfinder" / "telemetry.db"
    return LocalConfig().store_db


def _load(folder: Path | None) -> Registry | None:
    path = folder or project_root() / "telemetry" / "registry"
    try:
        return load_registry(path)
    except RegistryError as exc:
        print(f"wayfinder telemetry: {path}: {exc}", file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    registry = _load(args.registry)
    if registry is None:
        return EXIT_USAGE
    # Imported here: the store (and its protobuf dependency) is only needed to read data.
    from wayfinder.contract.check import check_store
    from wayfinder.contract.report import render_json, render_text
    from wayfinder.store.db import TelemetryStore

    path = args.capture or args.db or _default_db()
    if not path.is_file():
        what = "capture file" if args.capture else "telemetry store"
        print(f"wayfinder telemetry check: no {what} at {path}", file=sys.stderr)
        return EXIT_USAGE
    try:
        store = TelemetryStore.from_capture(path) if args.capture else TelemetryStore(path)
    except (OSError, ValueError) as exc:
        print(f"wayfinder telemetry check: cannot read {path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    window = timedelta(minutes=args.window_minutes) if args.window_minutes else None
    with store:
        # Streamed: memory holds one chunk of whole traces however large the store is.
        report = check_store(store, registry, window=window)
    sys.stdout.write(render_json(report) if args.json else render_text(report))
    return EXIT_OK if report.ok else EXIT_VIOLATIONS


def _docs(args: argparse.Namespace) -> int:
    registry = _load(args.registry)
    if registry is None:
        return EXIT_USAGE
    from wayfinder.contract.docs import update_docs

    target = args.output or project_root() / "docs" / "telemetry.md"
    try:
        changed = update_docs(registry, target, write=not args.check)
    except OSError as exc:
        print(f"wayfinder telemetry docs: cannot write {target}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.check and changed:
        print(f"{target} is stale: run `wayfinder telemetry docs`", file=sys.stderr)
        return EXIT_VIOLATIONS
    print(f"{target}: {'updated' if changed else 'up to date'}")
    return EXIT_OK
