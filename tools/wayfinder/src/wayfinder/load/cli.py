"""`wayfinder load`: drive the shop with Locust journeys for a while, then say how it went."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import IO, Any

import httpx

from wayfinder.load import options
from wayfinder.load.summary import progress_line, render, summarize

CHILD_EXIT_GRACE_S = 30.0


def register(sub: Any) -> None:
    load = sub.add_parser(
        "load",
        help="run the Locust journeys headless against the shop, then summarize",
        description=(
            "Browse, check out (with an Idempotency-Key), look orders up; now and then an impatient "
            "client retries with the same key or a card is declined. Every request carries the "
            "W3C baggage synthetic=true: the span where it enters each service carries "
            "user_agent.synthetic.type=test."
        ),
    )
    load.add_argument("--users", type=options.positive_int, default=4, help="concurrent users (default 4)")
    load.add_argument(
        "--rate",
        type=options.positive_float,
        default=None,
        help="journeys per second, all users together (default: each user pauses 0.5-2 s)",
    )
    load.add_argument(
        "--duration", type=options.parse_duration, default=60, help="how long: 90s, 2m, 1h30m (default 60s)"
    )
    load.add_argument(
        "--region-mix",
        type=options.region_mix,
        default=None,
        help="weights, e.g. us-east=0.5,eu-west=0.3,ap-south=0.2 (left-out regions get none)",
    )
    load.add_argument(
        "--tier-mix",
        type=options.tier_mix,
        default=None,
        help="weights, e.g. free=0.5,pro=0.35,enterprise=0.15",
    )
    load.add_argument(
        "--steps",
        type=options.positive_int,
        default=1,
        help="raise users and rate in this many equal steps over the run (default 1: steady)",
    )
    load.add_argument("--host", default=None, help="checkout-api's URL (default: the mode that is up)")
    load.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    load.set_defaults(handler=cmd_load)


def target(explicit: str | None) -> tuple[str, str]:
    """checkout-api's URL and which mode serves it: compose's published port or local mode's."""
    if explicit:
        return explicit.rstrip("/"), "given"
    from wayfinder.local.cli import _remembered_mode
    from wayfinder.local.config import LocalConfig, find_project_root

    config = LocalConfig()
    if _remembered_mode(config) == "compose":
        from wayfinder.compose_mode import checkout_url

        return checkout_url(find_project_root()), "compose"
    return config.checkout_url, "local"


NEXT = {
    "local": "uv run wayfinder traces   (the load's entry spans carry user_agent.synthetic.type=test)",
    "compose": 'Grafana, Explore, Tempo: the load\'s traces are { span.user_agent.synthetic.type = "test" }',
}


def cmd_load(args: argparse.Namespace) -> int:
    host, mode = target(args.host)
    plan = options.LoadPlan(
        host=host,
        users=args.users,
        duration_s=args.duration,
        rate=args.rate,
        steps=args.steps,
        region_mix=args.region_mix,
        tier_mix=args.tier_mix,
    )
    try:
        httpx.get(f"{plan.host}/healthz", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        print(
            f"wayfinder: checkout-api at {plan.host} does not answer ({exc}); is `make up` running?",
            file=sys.stderr,
        )
        return 1
    files = ",".join(str(path) for path in plan.locustfiles(options.loadtest_dir()))
    command = [sys.executable, "-m", "wayfinder.load.runner", files, *plan.locust_args()]
    progress = Progress(sys.stderr, plan.duration_s)
    final, code, errors = _run(command, progress.show)
    progress.end()
    if final is None:
        print(f"wayfinder: the load generator stopped (exit {code}):\n{errors.strip()}", file=sys.stderr)
        return 1
    summary = summarize(final, plan.host)
    if args.json:
        print(json.dumps(summary))
    else:
        print(render(summary))
        if mode in NEXT:
            print(f"\nNext: {NEXT[mode]}")
    return 0 if summary["requests"] > 0 else 1


def _run(
    command: list[str], show: Callable[[dict[str, Any]], None]
) -> tuple[dict[str, Any] | None, int, str]:
    """Run the child, pass its progress on, return its final report, exit code and stderr."""
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert child.stdout is not None
        # Stopped by a supervisor: the child stops its users too, and still reports.
        previous = signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
        try:
            final = _read_reports(child, show)
            code = child.wait(timeout=CHILD_EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)
        errors.seek(0)
        return final, code, errors.read()[-4000:]


def _read_reports(
    child: subprocess.Popen[str], show: Callable[[dict[str, Any]], None]
) -> dict[str, Any] | None:
    """Pass progress reports on until the child closes its output; return its final report."""
    assert child.stdout is not None
    final: dict[str, Any] | None = None
    interrupted = False
    while True:
        try:
            for line in child.stdout:
                report = _parse(line)
                if report is not None and report.get("event") == "final":
                    final = report
                elif report is not None and report.get("event") == "progress":
                    show(report)
            return final
        except KeyboardInterrupt:
            if interrupted:
                child.kill()
                raise
            # Ctrl-C once: the child stops its users and still reports what it did.
            interrupted = True
            child.send_signal(signal.SIGINT)


def _parse(line: str) -> dict[str, Any] | None:
    # Locust or a library may print a stray line: only our JSON reports count.
    if not line.startswith("{"):
        return None
    try:
        report = json.loads(line)
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


class Progress:
    """On a terminal one line rewritten in place; elsewhere (a log, a pipe) a line every 10 s."""

    LOG_EVERY_S = 10.0

    def __init__(self, out: IO[str], duration_s: int) -> None:
        self.out = out
        self.duration_s = duration_s
        self.tty = out.isatty()
        self.drawn = False
        self.logged_at = -self.LOG_EVERY_S

    def show(self, report: dict[str, Any]) -> None:
        line = progress_line(report, self.duration_s)
        if self.tty:
            self.out.write("\r\033[K" + line)
            self.drawn = True
        elif report["elapsed_s"] - self.logged_at >= self.LOG_EVERY_S:
            self.out.write(line + "\n")
            self.logged_at = report["elapsed_s"]
        self.out.flush()

    def end(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()
