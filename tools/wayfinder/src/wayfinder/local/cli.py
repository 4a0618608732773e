"""`wayfinder up|down|status|setup|checkout|trace|logs`: local mode and the terminal navigator."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import uuid
from typing import Any

from wayfinder.local.config import LocalConfig
from wayfinder.local.orders import CheckoutResult, place_order, wait_for_trace
from wayfinder.local.ports import PortsInUse
from wayfinder.local.prerequisites import MissingPrerequisite
from wayfinder.local.stack import LocalStack


def register(sub: Any) -> None:
    up = sub.add_parser("up", help="start the platform (Docker stack if an engine answers, else local)")
    up.add_argument(
        "--mode",
        choices=["auto", "local", "compose"],
        default=None,
        help="override the choice (also WAYFINDER_MODE)",
    )
    up.set_defaults(handler=cmd_up)
    down = sub.add_parser("down", help="stop everything `up` started")
    down.add_argument("--mode", choices=["auto", "local", "compose"], default=None)
    down.set_defaults(handler=cmd_down)
    sub.add_parser("status", help="what is running in local mode").set_defaults(handler=cmd_status)
    setup = sub.add_parser("setup", help="install the servers local mode and the tests need (make does)")
    setup.add_argument("--dry-run", action="store_true", help="say what would be installed, change nothing")
    setup.add_argument("--verbose", action="store_true", help="say where each program was found")
    setup.set_defaults(handler=cmd_setup)

    checkout = sub.add_parser("checkout", help="place one order and show its trace as a waterfall")
    checkout.add_argument("--region", default="us-east", choices=["us-east", "eu-west", "ap-south"])
    checkout.add_argument("--tier", default="pro", choices=["free", "pro", "enterprise"])
    checkout.add_argument("--email", default="demo.customer@example.com")
    checkout.add_argument("--sku", default="SKU-MUG")
    checkout.add_argument("--quantity", type=int, default=1)
    checkout.add_argument("--card-token", default="tok_visa", help="tok_decline always declines")
    checkout.add_argument("--idempotency-key", default=None, help="reuse a key to see a replay")
    checkout.add_argument("--json", action="store_true", help="print one JSON object instead")
    checkout.set_defaults(handler=cmd_checkout)

    trace = sub.add_parser("trace", help="show one trace as a waterfall")
    trace.add_argument("trace_id")
    trace.set_defaults(handler=cmd_trace)
    # `traces` (search with filters), `alerts` and `metrics` live in wayfinder.query.cli.
    logs = sub.add_parser("logs", help="the logs of one trace, in time order")
    logs.add_argument("--trace", required=True, dest="trace_id")
    logs.set_defaults(handler=cmd_logs)


def _mode(requested: str | None) -> str:
    from wayfinder import compose_mode

    choice = requested or LocalConfig().mode
    if choice == "auto":
        # Both the engine and the compose plugin, or the stack cannot start: local mode then.
        usable = compose_mode.engine_available() and compose_mode.compose_available()
        return "compose" if usable else "local"
    return choice


def _remember_mode(config: LocalConfig, mode: str) -> None:
    # `down` must stop what `up` started, even if the Docker engine's availability changed.
    config.home.mkdir(parents=True, exist_ok=True)
    (config.home / "mode").write_text(mode)


def remembered_mode(config: LocalConfig) -> str | None:
    """The mode the last `up` chose (local or compose), if any."""
    path = config.home / "mode"
    return path.read_text().strip() if path.exists() else None


def in_compose_stack(config: LocalConfig | None = None) -> bool:
    """True when the compose stack is what the shop runs in (what the last `up` chose, or the
    configured mode): scenario actions then drive containers, and the path is not recorded."""
    config = config or LocalConfig()
    return (remembered_mode(config) or config.mode) == "compose"


def cmd_up(args: argparse.Namespace) -> int:
    config = LocalConfig()
    mode = _mode(args.mode)
    _remember_mode(config, mode)
    if mode == "compose":
        from wayfinder import compose_mode
        from wayfinder.local.config import find_project_root

        return compose_mode.up(find_project_root())
    print("No Docker engine in use: starting Wayfinder in local mode.")
    stack = LocalStack(config)
    try:
        stack.up()
    except MissingPrerequisite as exc:
        print(f"wayfinder: {exc}", file=sys.stderr)
        return 1
    except PortsInUse as exc:
        # Nothing was started: say which ports and stop, without touching what runs.
        for line in str(exc).splitlines():
            print(f"wayfinder: {line}", file=sys.stderr)
        return 1
    except (TimeoutError, subprocess.CalledProcessError, subprocess.TimeoutExpired, LookupError) as exc:
        print(f"wayfinder: local mode did not start: {_describe(exc)}", file=sys.stderr)
        print("wayfinder: stopping what had started...", file=sys.stderr)
        stack.down()
        return 1
    next_steps = [
        ("uv run wayfinder checkout", "place an order, see its trace as a waterfall"),
        ("uv run wayfinder checkout --card-token tok_decline", "a declined payment"),
        ("uv run wayfinder traces", "recent traces; `wayfinder trace ID` opens one"),
        ("uv run wayfinder telemetry check", "the telemetry contract, on what was captured"),
        *_prometheus_step(config),
        (f"http://127.0.0.1:{config.checkout_port}/docs", "the checkout API"),
        (str(config.log_dir), "each process's JSON log lines"),
        ("make down", "stop everything"),
    ]
    print("\nWayfinder is up. Next:")
    for command, what in next_steps:
        print(f"  {command:<52} {what}")
    return 0


def _prometheus_step(config: LocalConfig) -> list[tuple[str, str]]:
    """The local Prometheus's URL, when `up` started one (wayfinder.local.prometheus)."""
    from wayfinder.local.processes import ProcessTable
    from wayfinder.local.prometheus import NAME, LocalPrometheus

    if not config.uses_embedded_store or ProcessTable(config.run_dir, config.log_dir).pid(NAME) is None:
        return []
    url = LocalPrometheus(config, ProcessTable(config.run_dir, config.log_dir)).url
    return [(f"{url}/alerts", "alerts (prometheus/rules, evaluated locally); PromQL at /graph")]


def _describe(exc: BaseException) -> str:
    """One readable line, with the tail of what a failed command said (not just its exit code)."""
    if isinstance(exc, subprocess.CalledProcessError):
        said = (exc.stderr or exc.stdout or "").strip()
        said = said.decode() if isinstance(said, bytes) else said
        tail = said.splitlines()[-1] if said else f"exit status {exc.returncode}"
        return f"`{' '.join(map(str, exc.cmd[-3:]))}` failed: {tail}"
    if isinstance(exc, LookupError):
        return f"{exc} (running as root needs the 'postgres' user the postgresql package creates)"
    return str(exc)


def cmd_setup(args: argparse.Namespace) -> int:
    from wayfinder.local import setup
    from wayfinder.local.prerequisites import Host

    status = setup.ensure(dry_run=args.dry_run)
    if args.verbose:
        for line in setup.describe(Host()):
            print(f"  {line}")
    return status


def cmd_down(args: argparse.Namespace) -> int:
    config = LocalConfig()
    mode = args.mode or remembered_mode(config)
    if _mode(mode) == "compose":
        from wayfinder import compose_mode
        from wayfinder.local.config import find_project_root

        status = compose_mode.down(find_project_root())
        if status != 0:
            return status
    # Always: whatever local mode left behind is stopped too (harmless when nothing runs).
    LocalStack(config).down()
    print("Wayfinder local mode is stopped.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    rows = LocalStack(LocalConfig()).status()
    for row in rows:
        print(f"  {'●' if row.running else '○'} {row.name:<17} {row.detail}")
    return 0 if all(r.running or not r.required for r in rows) else 3


def _open_store() -> Any:
    from wayfinder.store.db import TelemetryStore

    config = LocalConfig()
    if not config.uses_embedded_store:
        print(
            f"wayfinder: telemetry goes to {config.otlp_endpoint}, not to the embedded store: "
            "browse it there (Grafana)",
            file=sys.stderr,
        )
        return None
    if not config.store_db.exists():
        print("wayfinder: no telemetry yet: run `make up` first", file=sys.stderr)
        return None
    return TelemetryStore(config.store_db)


def cmd_checkout(args: argparse.Namespace) -> int:
    config = LocalConfig()
    key = args.idempotency_key or f"cli-{uuid.uuid4()}"
    try:
        result = place_order(
            config.checkout_url,
            key,
            region=args.region,
            tier=args.tier,
            email=args.email,
            sku=args.sku,
            quantity=args.quantity,
            card_token=args.card_token,
        )
    except ConnectionError as exc:
        print(f"wayfinder: {exc}", file=sys.stderr)
        return 1
    store = _open_store() if result.trace_id else None
    spans = wait_for_trace(store, result, config.span_export_delay_ms) if store is not None else []
    if args.json:
        print(json.dumps(_summary(result, spans)))
        return 0 if result.status < 500 else 1
    print(f"HTTP {result.status}  {json.dumps(result.body)}")
    if spans:
        from wayfinder.navigator.waterfall import render_trace

        print()
        print(render_trace(spans, width=_width(), color=sys.stdout.isatty()))
        print(f"\nNext: uv run wayfinder logs --trace {result.trace_id}")
    elif result.trace_id:
        print(f"trace id: {result.trace_id}")
    return 0 if result.status < 500 else 1


def _summary(result: CheckoutResult, spans: list[Any]) -> dict[str, Any]:
    return {
        "http_status": result.status,
        "order_id": result.body.get("order_id"),
        "trace_id": result.trace_id,
        "error": result.body.get("error"),
        "span_count": len(spans),
        "services": sorted({s.service_name for s in spans}),
    }


def _records_of_trace(kind: str, trace_id: str) -> list[Any] | None:
    """The trace's spans or logs (store or compose stack: wayfinder.query), or None after saying why."""
    from wayfinder.query.model import QueryError
    from wayfinder.query.select import backend
    from wayfinder.scenarios.drillpath import record_look

    record_look("trace" if kind == "spans" else "logs", trace_id=trace_id)
    try:
        found = backend()
        answer = found.trace(trace_id) if kind == "spans" else found.trace_logs(trace_id)
    except QueryError as exc:
        print(f"wayfinder: {exc}", file=sys.stderr)
        return None
    if answer.link:
        print(f"Grafana: {answer.link}", file=sys.stderr)
    if not answer.value:
        print(f"wayfinder: no {kind} for trace {trace_id}", file=sys.stderr)
        return None
    return list(answer.value)


def cmd_trace(args: argparse.Namespace) -> int:
    from wayfinder.navigator.waterfall import render_trace

    spans = _records_of_trace("spans", args.trace_id)
    if spans is None:
        return 1
    print(render_trace(spans, width=_width(), color=sys.stdout.isatty()))
    print(f"\nNext: uv run wayfinder logs --trace {args.trace_id}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    from wayfinder.navigator.tables import render_logs

    logs = _records_of_trace("logs", args.trace_id)
    if logs is None:
        return 1
    print(render_logs(logs, color=sys.stdout.isatty(), width=_width()))
    return 0


def _width() -> int:
    return max(80, min(160, shutil.get_terminal_size((100, 20)).columns))
