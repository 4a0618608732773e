"""`wayfinder scenario list|show|start|status|stop` and `wayfinder faults serve|hooks`."""

from __future__ import annotations

import argparse
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict
from wayfinder_common.faulthooks import HOOKS

from wayfinder import compose_mode
from wayfinder.local.cli import in_compose_stack
from wayfinder.local.config import LocalConfig, find_project_root
from wayfinder.scenarios import catalog, rulesback
from wayfinder.scenarios.annotations import publish_quietly
from wayfinder.scenarios.control import FaultControl, control_app
from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.rulespeed import speed_in
from wayfinder.scenarios.run import RunSpec, read_spec, read_timeline, runner_pid, write_spec
from wayfinder.scenarios.timeline import plan

REAL_SPEED_ONLY = "the compose stack's Prometheus has the real-speed alert rules only"
NEXT = "next: `wayfinder scenario status`, `wayfinder traces`, `wayfinder logs --trace ID`"


class ScenarioSettings(BaseSettings):
    """WAYFINDER_PROMETHEUS_URL (where firing alerts are read), WAYFINDER_TRAINER_TOKEN (reveals)."""

    model_config = SettingsConfigDict(env_prefix="WAYFINDER_", extra="ignore")

    # Unset: local mode's Prometheus (LocalConfig.prometheus_port, where `wayfinder up` runs it).
    prometheus_url: str | None = None
    trainer_token: str | None = None

    def alerts_url(self) -> str:
        return self.prometheus_url or f"http://127.0.0.1:{LocalConfig().prometheus_port}"


def register(sub: Any) -> None:
    scenario = sub.add_parser("scenario", help="failure scenarios: list, show, start, status, stop")
    verbs = scenario.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("list", help="every scenario, one line each").set_defaults(
        handler=_reporting_file_errors(cmd_list)
    )
    show = verbs.add_parser("show", help="what the trainee is told (never the answer)")
    show.add_argument("name")
    show.set_defaults(handler=_reporting_file_errors(cmd_show))
    start = verbs.add_parser("start", help="switch the scenario's faults on its timeline, with its load")
    start.add_argument("name")
    start.add_argument("--seed", type=int, default=None, help="same seed, same fault timeline")
    start.add_argument("--speed", type=float, default=1.0, help="time compression (training speed: 10)")
    start.set_defaults(handler=_reporting_file_errors(cmd_start))
    status = verbs.add_parser("status", help="is a scenario running, for how long, which alerts fire")
    status.add_argument("--json", action="store_true")
    status.add_argument("--reveal", action="store_true", help="name it and show its timeline (trainer token)")
    status.set_defaults(handler=cmd_status)
    verbs.add_parser("stop", help="faults off, load stopped, shop healthy").set_defaults(handler=cmd_stop)
    docs = verbs.add_parser("docs", help="check (or --write) docs/scenarios/<name>.md")
    docs.add_argument("--write", action="store_true")
    docs.set_defaults(handler=_reporting_file_errors(cmd_docs))
    schema = verbs.add_parser("schema", help="print (or --write) scenarios/schema.json")
    schema.add_argument("--write", action="store_true")
    schema.set_defaults(handler=cmd_schema)

    faults = sub.add_parser("faults", help="the fault control (token-protected, loopback only)")
    fverbs = faults.add_subparsers(dest="verb", required=True, metavar="VERB")
    serve = fverbs.add_parser("serve", help="serve the fault control's HTTP API on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8099)
    serve.set_defaults(handler=cmd_faults_serve)
    fverbs.add_parser("hooks", help="the hooks services know").set_defaults(handler=cmd_hooks)

    rules = sub.add_parser(
        "alert-rules", help="generate the training-speed alert rules from prometheus/rules"
    )
    rules.add_argument("--write", action="store_true", help="write them (default: check they are current)")
    rules.set_defaults(handler=cmd_alert_rules)


def _paths() -> StatePaths:
    return StatePaths(LocalConfig().home)


def _reporting_file_errors(
    handler: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A broken scenario file is a one-line error naming the file and field, not a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except catalog.ScenarioFileError as exc:
            print(f"wayfinder: {exc}", file=sys.stderr)
            return 2

    return run


def cmd_list(args: argparse.Namespace) -> int:
    for name, scenario in catalog.load_all().items():
        print(f"{name:<32} {scenario.difficulty:<7} {scenario.title}")
    print("next: `wayfinder scenario show NAME`, `wayfinder scenario start NAME --speed 10`")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    scenario = catalog.load(args.name)
    print(f"{scenario.title}  ({scenario.difficulty})")
    print(f"you get: {scenario.told.kind}")
    print(scenario.told.text)
    print(f"next: `wayfinder scenario start {scenario.name} --speed 10`")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    scenario = catalog.load(args.name)
    if args.speed <= 0:
        print("--speed must be positive", file=sys.stderr)
        return 2
    paths = _paths()
    if runner_pid(paths) is not None:
        print("a scenario is already running: `wayfinder scenario stop` first", file=sys.stderr)
        return 1
    config = LocalConfig()
    compose = in_compose_stack(config)
    checkout_url = compose_mode.checkout_url(find_project_root()) if compose else config.checkout_url
    if not shop_ready(checkout_url):
        print(f"the shop is not answering at {checkout_url}: `wayfinder up` first", file=sys.stderr)
        return 1
    speed = speed_in(args.speed, compose)
    if speed != args.speed:
        # No duration: a drill's trainee sees this line, and how long a run takes hints at which.
        print(f"{REAL_SPEED_ONLY}: speed 1, not {args.speed:g}")
    stops_store = not compose and not config.uses_embedded_store
    if stops_store and any(a.component == "telemetry" for a in scenario.actions):
        # Named without the scenario: a drill's trainee sees this line too.
        print(
            f"this run would stop local mode's telemetry store, but telemetry goes to {config.otlp_endpoint},"
            " which Wayfinder does not run: unset OTEL_EXPORTER_OTLP_ENDPOINT to run it",
            file=sys.stderr,
        )
        return 1
    control = FaultControl(paths)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    switches = plan(scenario, seed, speed)
    last = max((s.at_s for s in switches), default=0.0)
    spec = RunSpec(
        scenario=scenario.name,
        seed=seed,
        speed=speed,
        started_at=time.time(),
        duration_s=max(scenario.load.duration_s / speed, last + 10),
        plan=switches,
        load=scenario.load,
        local_config=config.model_dump(mode="json", by_alias=True),
        mode="compose" if compose else "local",
        project_dir=str(find_project_root()) if compose else None,
        checkout_url=checkout_url,
    )
    paths.timeline.unlink(missing_ok=True)
    write_spec(paths, control.token, spec)
    paths.runner_log.parent.mkdir(parents=True, exist_ok=True)
    with paths.runner_log.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "wayfinder.scenarios.runner", str(paths.home)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    paths.runner_pid.write_text(str(process.pid))
    print(f"started (seed {seed}, speed {speed:g}); the faults follow their timeline, the load runs")
    print(NEXT)
    return 0


def shop_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def _firing_alerts(url: str) -> list[str] | None:
    try:
        answer = httpx.get(f"{url}/api/v1/alerts", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None
    return sorted({a["labels"]["alertname"] for a in answer["data"]["alerts"] if a.get("state") == "firing"})


def trainer_token(paths: StatePaths, settings: ScenarioSettings) -> str | None:
    """WAYFINDER_TRAINER_TOKEN when it is this installation's token (what opens the sealed run)."""
    token = settings.trainer_token
    if not token or not hmac.compare_digest(token.encode(), FaultControl(paths).token.encode()):
        return None
    return token


def cmd_status(args: argparse.Namespace) -> int:
    paths, settings = _paths(), ScenarioSettings()
    pid = runner_pid(paths)
    alerts_url = settings.alerts_url()
    alerts = _firing_alerts(alerts_url)
    report: dict[str, Any] = {
        "running": pid is not None,
        "firing_alerts": alerts,
        "real_speed_rules_at": rulesback.pending(paths),
    }
    if pid is not None:
        # The start time is the run spec file's, so it needs no token and names nothing.
        report["elapsed_s"] = round(time.time() - paths.run.stat().st_mtime)
    if args.reveal:
        token = trainer_token(paths, settings)
        if token is None:
            print("--reveal needs the trainer's token in WAYFINDER_TRAINER_TOKEN", file=sys.stderr)
            return 3
        if paths.run.exists():
            spec = read_spec(paths, token)
            report.update(scenario=spec.scenario, seed=spec.seed, speed=spec.speed)
            report["timeline"] = [e.model_dump() for e in read_timeline(paths, token)]
            # Revealed: the switches so far may show in Grafana too (compose mode only).
            publish_quietly(paths, token, LocalConfig())
    if args.json:
        print(json.dumps(report))
        return 0
    print("a scenario is running" if pid else "no scenario is running", end="")
    print(f" ({report['elapsed_s']} s)" if pid else "")
    if alerts is None:
        print(f"alerts: no Prometheus answered at {alerts_url}")
    else:
        print(f"firing alerts: {', '.join(alerts) or 'none'}")
    back = report["real_speed_rules_at"]
    if back is not None and pid is None:
        # Said without the run's name: only that the last run was at training speed.
        at = time.strftime("%H:%M:%S", time.localtime(back))
        print(f"alert rules: training speed until {at}, while the real-speed windows forget the last run")
    if "scenario" in report:
        print(f"scenario: {report['scenario']} (seed {report['seed']}, speed {report['speed']:g})")
        for entry in report["timeline"]:
            print(f"  +{entry['t_s']:>7.1f}s  {entry['what']}  {json.dumps(entry['detail'])}")
    print(NEXT if pid else "next: `wayfinder scenario list`")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    paths = _paths()
    pid = runner_pid(paths)
    if pid is None:
        # Nothing running, but make sure no fault was left on (a crashed runner, say).
        control = FaultControl(paths)
        control.reset()
        # A run that ended on its own was annotated by its runner; this retries after an outage.
        publish_quietly(paths, control.token, LocalConfig())
        print("no scenario was running; every fault is off")
        return 0
    os.kill(pid, 15)
    deadline = time.monotonic() + 60
    while runner_pid(paths) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if runner_pid(paths) is not None:
        print(f"the runner (pid {pid}) did not stop within 60 s; see {paths.runner_log}", file=sys.stderr)
        return 1
    paths.runner_pid.unlink(missing_ok=True)
    # The runner annotated its switches as it stopped; whatever an outage kept back goes now.
    publish_quietly(paths, FaultControl(paths).token, LocalConfig())
    print("stopped: faults off, load stopped, stopped components started again")
    print("next: `wayfinder status`, `wayfinder scenario status --reveal` (trainer) for the timeline")
    return 0


def cmd_faults_serve(args: argparse.Namespace) -> int:
    import uvicorn

    control = FaultControl(_paths())
    print(f"fault control on http://127.0.0.1:{args.port} (token in {control.paths.token})")
    uvicorn.run(control_app(control), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


def cmd_hooks(args: argparse.Namespace) -> int:
    for name, hook in HOOKS.items():
        print(f"{name:<26} {hook.doc}")
    return 0


def cmd_alert_rules(args: argparse.Namespace) -> int:
    from wayfinder.local.config import find_project_root
    from wayfinder.scenarios import rulespeed

    prometheus = find_project_root() / "prometheus"
    if args.write:
        for path in rulespeed.write(prometheus):
            print(f"wrote {path}")
        return 0
    outdated = rulespeed.stale(prometheus)
    for path in outdated:
        print(f"stale: {path} (run `wayfinder alert-rules --write`)")
    return 1 if outdated else 0


def cmd_schema(args: argparse.Namespace) -> int:
    text = catalog.json_schema()
    if args.write:
        path = catalog.scenarios_dir() / "schema.json"
        path.write_text(text)
        print(f"wrote {path}")
    else:
        print(text, end="")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from wayfinder.local.config import find_project_root
    from wayfinder.scenarios import docs

    pages = docs.generate(catalog.load_all(), find_project_root() / "docs" / "scenarios")
    stale = [p for p, text in pages.items() if not p.exists() or p.read_text() != text]
    if args.write:
        for path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(pages[path])
            print(f"wrote {path}")
        return 0
    for path in stale:
        print(f"stale: {path} (run `wayfinder scenario docs --write`)")
    return 1 if stale else 0
