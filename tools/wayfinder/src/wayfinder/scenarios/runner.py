"""The background runner: starts the load, switches the faults on the timeline, undoes it all on stop.

`python -m wayfinder.scenarios.runner STATE_FOLDER`: everything else (which scenario, the plan)
is read from the sealed run spec, so the process list names no scenario.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path

from wayfinder.local import prometheus as local_prometheus
from wayfinder.local.config import LocalConfig
from wayfinder.local.stack import LocalStack
from wayfinder.scenarios import components, rulesback
from wayfinder.scenarios.annotations import publish_quietly
from wayfinder.scenarios.control import FaultControl
from wayfinder.scenarios.load import LoadRun, start_load, stop_load
from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.rulespeed import TRAINING_SPEED
from wayfinder.scenarios.run import RunSpec, append_timeline, read_spec
from wayfinder.scenarios.timeline import Switch

log = logging.getLogger("wayfinder.scenarios.runner")


class Runner:
    def __init__(self, paths: StatePaths) -> None:
        self.paths = paths
        self.control = FaultControl(paths)
        self.spec: RunSpec = read_spec(paths, self.control.token)
        # No reports: the runner log must not narrate the drill to a trainee who opens it.
        self.stack = LocalStack(LocalConfig.model_validate(self.spec.local_config), report=lambda _: None)
        project_dir = Path(self.spec.project_dir) if self.spec.project_dir else None
        self.components = components.for_mode(self.spec.mode, self.stack, project_dir)
        self.stopping = threading.Event()
        self.stopped: set[str] = set()
        self.restarted: set[str] = set()

    def record(self, what: str, **detail: object) -> None:
        append_timeline(self.paths, self.control.token, self.spec.started_at, what, **detail)

    def apply(self, switch: Switch) -> None:
        if switch.do == "on":
            assert switch.hook and switch.scope and switch.params is not None
            self.control.switch_on(switch.hook, switch.scope, switch.params)
            self.record("fault on", hook=switch.hook, scope=switch.scope, params=switch.params)
        elif switch.do == "off":
            assert switch.hook and switch.scope
            self.control.switch_off(switch.hook, switch.scope)
            self.record("fault off", hook=switch.hook, scope=switch.scope)
        else:
            self.act(switch)

    def act(self, switch: Switch) -> None:
        assert switch.component
        what = f"{switch.do} {switch.component}"
        try:
            if switch.do == "stop":
                self.stopped.add(switch.component)  # before: a half-done stop is undone too
                self.components.stop(switch.component)
            elif switch.do == "start":
                self.components.start(switch.component)
                self.stopped.discard(switch.component)
            else:
                self.restarted.add(switch.component)
                self.components.restart(switch.component, release_env(switch))
        except components.ComponentError as exc:
            self.failed(what, exc)
            return
        self.record(what, version=switch.version, sampler=switch.sampler)

    def failed(self, what: str, exc: components.ComponentError) -> None:
        """The run goes on (its faults and load still teach something); the sealed timeline says
        what failed, the log only that something did."""
        log.error("a scenario action failed; `wayfinder scenario status --reveal` says which")
        self.record(f"{what} FAILED", error=str(exc))

    def use_training_rules(self) -> None:
        """The local Prometheus evaluates the rules at the run's speed (real speed otherwise)."""
        if self.spec.speed != TRAINING_SPEED:
            return
        rulesback.cancel(self.paths)  # an earlier run's switch-back must not undo these
        folder = local_prometheus.training_rules_dir()
        if local_prometheus.use_rules(self.stack.config, self.stack.processes, folder):
            self.record("alert rules", folder=folder.name)

    def schedule_real_rules(self) -> None:
        """The real-speed rules come back once their windows no longer see this run (rulesback)."""
        if self.spec.speed != TRAINING_SPEED:
            return
        deadline = rulesback.deadline_after(time.time())
        rulesback.schedule(self.paths, self.spec.local_config, deadline)
        self.record(
            "alert rules", folder=local_prometheus.rules_dir().name, from_s=round(deadline - time.time())
        )

    def run(self) -> None:
        spec = self.spec
        self.record("run started", seed=spec.seed, speed=spec.speed)
        self.use_training_rules()
        load = start_load(
            spec.load,
            target_url=spec.checkout_url or self.stack.config.checkout_url,
            duration_s=spec.duration_s,
            seed=spec.seed,
            log_file=self.paths.home / "logs" / "load.log",
        )
        self.record("load started", rate_per_s=spec.load.rate_per_s)
        try:
            for switch in spec.plan:
                if self.stopping.wait(max(0.0, spec.started_at + switch.at_s - time.time())):
                    break
                self.apply(switch)
            self.stopping.wait(max(0.0, spec.started_at + spec.duration_s - time.time()))
        finally:
            self.undo(load)

    def undo(self, load: LoadRun) -> None:
        """Healthy again: load stopped, faults off, stopped components back, releases rolled back."""
        stop_load(load)
        self.control.reset()
        self.schedule_real_rules()
        for component in sorted(self.stopped):
            try:
                self.components.start(component)
            except components.ComponentError as exc:
                self.failed(f"start {component}", exc)
        for component in sorted(self.restarted):
            try:
                self.components.restart(component, {})
            except components.ComponentError as exc:
                self.failed(f"roll back {component}", exc)
        self.record("run stopped")
        # The run is over: its switches may show in Grafana now (compose mode; a warning if not).
        publish_quietly(self.paths, self.control.token, self.stack.config, out=sys.stdout)


def release_env(switch: Switch) -> dict[str, str]:
    """A restart's settings: the new service.version and, if it changes, the trace sampler."""
    env = {"SERVICE_VERSION": switch.version} if switch.version else {}
    if switch.sampler:
        env["OTEL_TRACES_SAMPLER"] = switch.sampler
    if switch.sampler_ratio is not None:
        env["OTEL_TRACES_SAMPLER_ARG"] = str(switch.sampler_ratio)
    return env


def main(argv: list[str]) -> int:
    paths = StatePaths(Path(argv[0]))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    runner = Runner(paths)
    signal.signal(signal.SIGTERM, lambda *_: runner.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: runner.stopping.set())
    runner.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
