"""`wayfinder drill start|hint|answer|history`: an incident the trainee is not told, found alone,
then graded (what was found, and how: the recorded path against the ideal one) with a debrief.

The drill's scenario is only in the run spec, sealed with the fault-control token; the drill's
own files hold its start time and seed, never the name. Grading reads the sealed spec."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

from wayfinder.scenarios import catalog
from wayfinder.scenarios.drillpath import active_file, drill_folder, path_file, read_path, record_look
from wayfinder.scenarios.grading import Given, debrief, evidence_holds, grade, ideal_path
from wayfinder.scenarios.model import Cause, Scenario

SPEED = 10.0
CAUSES: tuple[str, ...] = Cause.__args__  # type: ignore[attr-defined]


def register(sub: Any) -> None:
    drill = sub.add_parser("drill", help="an unnamed incident: find it alone, answer, get graded")
    verbs = drill.add_subparsers(dest="verb", required=True, metavar="VERB")
    start = verbs.add_parser("start", help="start a drill: load, an incident you are not told, the page")
    start.add_argument("--seed", type=int, default=None, help="same seed, same incident and timeline")
    start.add_argument("--scenario", default=None, help="trainer: force this one (WAYFINDER_TRAINER_TOKEN)")
    start.add_argument(
        "--wait", type=float, default=None, help="seconds to wait for the page (300; 1200 at real speed)"
    )
    start.set_defaults(handler=cmd_start)
    verbs.add_parser("hint", help="the next step of the ideal path (costs path grade)").set_defaults(
        handler=cmd_hint
    )
    answer = verbs.add_parser(
        "answer",
        help="answer, get graded and debriefed; the drill ends",
        epilog="cause categories: " + ", ".join(CAUSES),
    )
    answer.add_argument("--service", default=None, help="where the time or failure is (e.g. payment)")
    answer.add_argument("--dependency", default=None, help="the dependency behind it (e.g. payment-provider)")
    answer.add_argument(
        "--scope", action="append", default=[], metavar="LABEL=VALUE|fleet-wide", help="repeatable"
    )
    answer.add_argument(
        "--cause", required=True, choices=CAUSES, help="a cause category (`none`: all is well)"
    )
    answer.add_argument("--evidence", default=None, metavar="TRACE_ID", help="a trace that shows it")
    answer.add_argument("--json", action="store_true", help="the grade as one JSON object")
    answer.set_defaults(handler=cmd_answer)
    verbs.add_parser("history", help="past drills: scores and times").set_defaults(handler=cmd_history)


def _paths() -> Any:
    from wayfinder.scenarios.cli import _paths as scenario_paths

    return scenario_paths()


def _history_file() -> Any:
    return drill_folder() / "history.jsonl"


def cmd_start(args: argparse.Namespace) -> int:
    from wayfinder.scenarios.cli import ScenarioSettings, trainer_token
    from wayfinder.scenarios.cli import cmd_start as start_scenario
    from wayfinder.scenarios.walk import Walk

    paths = _paths()
    if active_file().exists():
        print("a drill is running: `wayfinder drill answer ...` ends it", file=sys.stderr)
        return 1
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    if args.scenario:
        if trainer_token(paths, ScenarioSettings()) is None:
            print("--scenario needs the trainer's token in WAYFINDER_TRAINER_TOKEN", file=sys.stderr)
            return 3
        scenario = catalog.load(args.scenario)
    else:
        scenario = catalog.load(random.Random(seed).choice(sorted(catalog.load_all())))
    from wayfinder.scenarios.rulespeed import alert_wait_s, speed_in

    speed = speed_in(SPEED, _in_compose_stack())
    started = start_scenario(argparse.Namespace(name=scenario.name, seed=seed, speed=SPEED))
    if started != 0:
        return started
    drill_folder().mkdir(parents=True, exist_ok=True)
    path_file().unlink(missing_ok=True)
    active_file().write_text(json.dumps({"started_at": time.time(), "seed": seed}))
    print(f"Drill started (seed {seed}). You are on call; nobody knows yet what is wrong.")
    if scenario.alert:
        from wayfinder.query.select import backend

        # The page: wait for the alert the way the walk does, then say only what it says.
        waiter = Walk(backend(), scenario, speed, sys.stdout, lambda: None)
        if not waiter.wait_for_alert(scenario.alert, alert_wait_s(args.wait, speed)):
            print("No page yet; keep an eye on `wayfinder alerts`.")
        print(f"\nPAGE: {scenario.told.text}")
    else:
        print(f"\n{scenario.told.kind.upper()}: {scenario.told.text}")
    print(
        "\nInvestigate with `wayfinder alerts`, `metrics`, `traces`, `trace`, `logs` (what you look at"
        " is recorded here, for the debrief); `wayfinder drill hint` if stuck; then"
        " `wayfinder drill answer --service ... --scope LABEL=VALUE --cause ... --evidence TRACE_ID`."
    )
    return 0


def _running() -> tuple[Scenario, dict[str, Any], int | None] | None:
    """The drill's scenario (from the sealed run spec), its start record, and the fault's start."""
    from wayfinder.scenarios.control import FaultControl
    from wayfinder.scenarios.run import read_spec, read_timeline

    if not active_file().exists():
        print("no drill is running: `wayfinder drill start`", file=sys.stderr)
        return None
    paths = _paths()
    token = FaultControl(paths).token
    spec = read_spec(paths, token)
    entries = read_timeline(paths, token) if paths.timeline.exists() else []
    # The incident begins with its first fault, or the first component it stops or restarts.
    fault_on = [e.at for e in entries if e.what.startswith(("fault on", "stop ", "restart "))]
    fault_ns = int(min(fault_on) * 1e9) if fault_on else None
    return catalog.load(spec.scenario), json.loads(active_file().read_text()), fault_ns


def cmd_hint(args: argparse.Namespace) -> int:
    from wayfinder.scenarios.grading import grade_path

    running = _running()
    if running is None:
        return 1
    scenario, _, _ = running
    steps = ideal_path(scenario)
    _, missed, _, _ = grade_path(steps, read_path())
    record_look("hint")
    if not missed:
        print("You have taken every step of the ideal path: answer with `wayfinder drill answer`.")
        return 0
    print(f"Next step: {missed[0].command}   (a hint costs path grade)")
    return 0


def _given(args: argparse.Namespace) -> Given | None:
    scope = []
    for item in args.scope:
        if item == "fleet-wide":
            scope.append(("", "fleet-wide"))
            continue
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            print(f"--scope takes LABEL=VALUE or fleet-wide, not {item!r}", file=sys.stderr)
            return None
        scope.append((key.strip(), value.strip()))
    return Given(args.service, args.dependency, tuple(scope), args.cause, args.evidence)


def cmd_answer(args: argparse.Namespace) -> int:
    from wayfinder.query.model import QueryError
    from wayfinder.query.select import backend
    from wayfinder.scenarios.cli import cmd_stop

    given = _given(args)
    running = _running() if given is not None else None
    if given is None or running is None:
        return 2 if given is None else 1
    scenario, record, fault_ns = running
    spans = []
    if given.evidence:
        try:
            spans = list(backend().trace(given.evidence.lower()).value)
        except QueryError as exc:
            print(f"wayfinder: {exc}", file=sys.stderr)
            return 1
    result = grade(
        scenario,
        given,
        evidence_holds(scenario, spans, fault_ns),
        read_path(),
        time.time() - record["started_at"],
        path_graded=not _in_compose_stack(),
    )
    # The drill ends with the answer: faults off, load stopped; only now may its timeline show.
    cmd_stop(argparse.Namespace())
    active_file().unlink(missing_ok=True)
    entry = {"at": time.time(), "scenario": scenario.name, "seed": record["seed"], **result.as_dict()}
    with _history_file().open("a") as out:
        out.write(json.dumps(entry) + "\n")
    if args.json:
        print(json.dumps(entry))
    else:
        print("\n".join(debrief(scenario, result)))
        print("\nnext: `wayfinder drill history`, `wayfinder drill start`")
    return 0


def _in_compose_stack() -> bool:
    from wayfinder.local.cli import in_compose_stack

    return in_compose_stack()


def cmd_history(args: argparse.Namespace) -> int:
    file = _history_file()
    entries = [json.loads(line) for line in file.read_text().splitlines()] if file.exists() else []
    if not entries:
        print("no drills yet: `wayfinder drill start`")
        return 0
    print(f"{'when (UTC)':<17} {'scenario':<28} {'score':>5} {'path':>5} {'time':>6} hints")
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(e["at"]))
        path = "-" if e.get("path_grade") is None else f"{e['path_grade']:.0%}"
        print(
            f"{when:<17} {e['scenario']:<28} {e['score']:>5} {path:>5}"
            f" {e['answered_after_s']:>5}s {e['hints']:>5}"
        )
    return 0
