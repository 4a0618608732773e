"""`wayfinder verify --all`: run each scenario in turn and prove it, then the shop healthy again.

One scenario at a time, as a trainer would by hand: `scenario start NAME --seed 1 --speed 10`,
its answer key polled through the query layer until every element is proven (or the run plus a
margin has passed), `scenario stop`, the scenario's own mitigation for failed invoices
(`invoices redrive`, harmless when there are none), then the healthy-again check polled. The
diagnosability tests run this command, so what they prove is what a trainer can prove.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from wayfinder.query.interface import QueryBackend
from wayfinder.scenarios.model import Scenario
from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.rulespeed import TRAINING_SPEED
from wayfinder.scenarios.verify import Check, passed, unproven, verify

SEED = 1
# Beyond the run itself: scrapes, rule evaluations and export delays on a shared machine.
MARGIN_S = 90.0
READY_WAIT_S = 120.0
POLL_S = 5.0  # scrapes and rule evaluations every 5 s: asking faster learns nothing


@dataclass
class Proof:
    scenario: str
    checks: list[Check] = field(default_factory=list)
    healthy: list[Check] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and passed(self.checks) and passed(self.healthy)


def poll(check: Callable[[], list[Check]], done: Callable[[list[Check]], bool], wait_s: float) -> list[Check]:
    """Ask until `done` or the deadline; the last answer either way."""
    deadline = time.monotonic() + wait_s
    checks = check()
    while not done(checks) and time.monotonic() < deadline:
        time.sleep(POLL_S)
        checks = check()
    return checks


@contextlib.contextmanager
def _stdout_to(out: TextIO) -> Iterator[None]:
    """Python's stdout and file descriptor 1 both (a command's own subprocesses write to the fd)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(out.fileno(), 1)
        with contextlib.redirect_stdout(out):
            yield
    finally:
        out.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _cli(*argv: str, out: TextIO) -> int:
    """The same commands a trainer types, in this process; their chatter goes to `out`, so that
    `verify --all --json` prints nothing but its JSON on stdout."""
    from wayfinder.cli import main

    with _stdout_to(out):
        return main(list(argv))


def prove(
    scenario: Scenario,
    backend: QueryBackend,
    paths: StatePaths,
    healthy: Callable[[], list[Check]],
    ready: Callable[[], bool],
    healthy_wait_s: float,
    out: TextIO = sys.stderr,
) -> Proof:
    from wayfinder.scenarios.run import runner_pid
    from wayfinder.scenarios.verify_cli import run_window

    proof = Proof(scenario.name)
    if not poll(lambda: [Check("ready", ready(), "")], lambda c: bool(c[0].ok), READY_WAIT_S)[0].ok:
        proof.error = "the shop did not answer /readyz before the run"
        return proof
    since = time.time()
    started = _cli(
        "scenario", "start", scenario.name, "--seed", str(SEED), "--speed", f"{TRAINING_SPEED:g}", out=out
    )
    if started != 0:
        proof.error = f"`scenario start {scenario.name}` exited {started}"
        return proof
    run_s = scenario.load.duration_s / TRAINING_SPEED

    def judged() -> list[Check]:
        return verify(scenario, backend, since, time.time(), run_window(TRAINING_SPEED))

    def proven(checks: list[Check]) -> bool:
        # "Nothing is wrong" is only proven over the whole run, not its first seconds.
        if scenario.answer.scope == "none" and runner_pid(paths) is not None:
            return False
        return passed(checks) and not unproven(scenario, checks)

    try:
        proof.checks = poll(judged, proven, run_s + MARGIN_S)
        missing = unproven(scenario, proof.checks)
        if missing:
            proof.checks.append(Check("every element judged", False, f"not proven: {', '.join(missing)}"))
    finally:
        stopped = _cli("scenario", "stop", out=out)
    if stopped != 0:
        proof.error = f"`scenario stop` exited {stopped}"
        return proof
    redriven = _cli("invoices", "redrive", out=out)
    if redriven != 0:
        proof.error = f"`invoices redrive` exited {redriven}"
        return proof
    proof.healthy = poll(healthy, passed, healthy_wait_s)
    return proof


def as_json(proof: Proof) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "scenario": proof.scenario,
        "passed": proof.passed,
        "error": proof.error,
        "checks": [asdict(c) for c in proof.checks],
        "healthy": [asdict(c) for c in proof.healthy],
    }
