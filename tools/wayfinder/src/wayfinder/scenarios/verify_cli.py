"""`wayfinder verify SCENARIO` and `wayfinder verify --healthy`: the trainer's proof, as a checklist.

A top-level command rather than a `scenario` verb: it is not part of running a drill but a check
over whatever telemetry the current mode holds, and it is the trainer's, not the trainee's.
Proving a scenario names its answer, so it needs WAYFINDER_TRAINER_TOKEN (as `scenario status
--reveal` does); a token, not "only after the run", because a trainer (and the diagnosability
test) checks while the run goes on. The healthy check names nothing and needs no token.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import Any

from wayfinder.scenarios.verify import Check, passed

# After a run at real speed the real rules' 5m windows must forget it (plus evaluations); after a
# training-speed run its training rules stay on and clear within a minute (scenarios.rulesback).
HEALTHY_WAIT_S = 420.0


def register(sub: Any) -> None:
    verify = sub.add_parser(
        "verify", help="trainer: prove a scenario's answer key from telemetry, or the shop healthy again"
    )
    verify.add_argument("scenario", nargs="?", help="the scenario whose answer key to prove")
    verify.add_argument("--healthy", action="store_true", help="instead: no alert, no stuck stock, invoices")
    verify.add_argument(
        "--all",
        action="store_true",
        help="run every scenario in turn (seed 1, speed 10), prove each, and the shop healthy after it",
    )
    verify.add_argument("--only", default=None, help="with --all: just these scenarios (comma-separated)")
    verify.add_argument("--wait", type=float, default=None, help="retry until it holds, at most this many s")
    verify.add_argument("--json", action="store_true", help="one JSON object instead")
    verify.set_defaults(handler=cmd_verify)


def render(title: str, checks: list[Check]) -> str:
    marks = {True: "ok     ", False: "MISSING", None: "skipped"}
    lines = [title] + [f"  {marks[c.ok]} {c.element:<24} {c.evidence}" for c in checks]
    lines.append("PASS" if passed(checks) else "FAIL")
    return "\n".join(lines)


def cmd_verify(args: argparse.Namespace) -> int:
    from wayfinder.query.model import QueryError
    from wayfinder.query.select import backend

    if args.all:
        if args.scenario or args.healthy:
            print("wayfinder verify: --all runs every scenario; name none, nor --healthy", file=sys.stderr)
            return 2
        return _verify_all(args)
    if args.only:
        print("wayfinder verify: --only narrows --all", file=sys.stderr)
        return 2
    if args.healthy == bool(args.scenario):
        print("wayfinder verify: name a SCENARIO, pass --all, or pass --healthy", file=sys.stderr)
        return 2
    try:
        if args.healthy:
            title, check = _healthy_check()
            wait = HEALTHY_WAIT_S if args.wait is None else args.wait
        else:
            opened = _scenario_check(args.scenario)
            if isinstance(opened, int):
                return opened
            title, check = opened
            wait = args.wait or 0.0
        query = backend()
    except QueryError as exc:
        print(f"wayfinder: {exc}", file=sys.stderr)
        return 1
    from wayfinder.scenarios.prove import poll

    checks = poll(lambda: check(query), passed, wait)
    if args.json:
        print(json.dumps({"check": title, "passed": passed(checks), "checks": [asdict(c) for c in checks]}))
    else:
        print(render(title, checks))
    return 0 if passed(checks) else 1


def _verify_all(args: argparse.Namespace) -> int:
    from wayfinder.local.config import LocalConfig
    from wayfinder.query.model import QueryError
    from wayfinder.query.select import backend
    from wayfinder.scenarios import catalog
    from wayfinder.scenarios.cli import ScenarioSettings, shop_ready, trainer_token
    from wayfinder.scenarios.paths import StatePaths
    from wayfinder.scenarios.prove import as_json, prove
    from wayfinder.scenarios.rulespeed import TRAINING_SPEED

    config = LocalConfig()
    paths = StatePaths(config.home)
    if trainer_token(paths, ScenarioSettings()) is None:
        return _no_token()
    every = catalog.load_all()
    names = sorted(every) if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in every]
    if unknown:
        print(f"wayfinder verify: no scenario named {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        query = backend()
        _, healthy_check = _healthy_check()
    except QueryError as exc:
        print(f"wayfinder: {exc}", file=sys.stderr)
        return 1
    proofs = []
    for number, name in enumerate(names, start=1):
        scenario = every[name]
        minutes = scenario.load.duration_s / TRAINING_SPEED / 60
        print(
            f"[{number}/{len(names)}] {name}: speed {TRAINING_SPEED:g}, ~{minutes:.0f} min, then healthy",
            file=sys.stderr,
            flush=True,
        )
        proof = prove(
            scenario,
            query,
            paths,
            lambda: healthy_check(query),
            lambda: shop_ready(config.checkout_url),
            HEALTHY_WAIT_S,
        )
        proofs.append(proof)
        if not args.json:
            if proof.error:
                print(f"{name}\n  error: {proof.error}\nFAIL")
            else:
                print(render(name, proof.checks))
                print(render(f"healthy again after {name}", proof.healthy))
    failed = [p.scenario for p in proofs if not p.passed]
    if args.json:
        print(json.dumps({"passed": not failed, "scenarios": [as_json(p) for p in proofs]}))
    else:
        print(
            f"{len(proofs) - len(failed)} of {len(proofs)} scenarios proven"
            + (f"; failed: {', '.join(failed)}" if failed else "")
        )
    return 0 if not failed else 1


def _no_token() -> int:
    print("verify names the answer: it needs the trainer's token in WAYFINDER_TRAINER_TOKEN", file=sys.stderr)
    return 3


def _healthy_check() -> tuple[str, Any]:
    from wayfinder.local.cli import remembered_mode
    from wayfinder.local.config import LocalConfig
    from wayfinder.scenarios.healthy import healthy

    config = LocalConfig()
    url = None
    if (remembered_mode(config) or config.mode) != "compose":
        from wayfinder.local.servers import PostgresServer

        url = PostgresServer(config.home / "postgres" / "data", config.postgres_port).url
    return "healthy again", lambda query: healthy(query, url)


def _scenario_check(name: str) -> tuple[str, Any] | int:
    from wayfinder.local.config import LocalConfig
    from wayfinder.scenarios import catalog
    from wayfinder.scenarios.cli import ScenarioSettings, trainer_token
    from wayfinder.scenarios.paths import StatePaths
    from wayfinder.scenarios.run import read_spec
    from wayfinder.scenarios.verify import verify

    paths = StatePaths(LocalConfig().home)
    token = trainer_token(paths, ScenarioSettings())
    if token is None:
        return _no_token()
    try:
        scenario = catalog.load(name)
    except catalog.ScenarioFileError as exc:
        print(f"wayfinder: {exc}", file=sys.stderr)
        return 2
    # The run's start and speed bound the search and set the window; without a run of this
    # scenario, the last hour at real speed.
    since, speed = time.time() - 3600, 1.0
    if paths.run.exists():
        spec = read_spec(paths, token)
        if spec.scenario == name:
            since, speed = spec.started_at, spec.speed
    window = run_window(speed)
    return f"{name} (telemetry since {time.strftime('%H:%M:%S', time.gmtime(since))} UTC, window {window})", (
        lambda query: verify(scenario, query, since, time.time(), window)
    )


def run_window(speed: float) -> str:
    """The rules' 5m window at the run's speed (30s at training speed)."""
    from wayfinder.scenarios.rulespeed import format_duration

    return format_duration(max(10.0, round(300.0 / speed)))
