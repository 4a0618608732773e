"""Scenario actions in the compose stack: the docker compose commands, the release override, and
the runner recording, undoing and surviving them (a fake command runner; nothing is started)."""

from __future__ import annotations

import stat
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from wayfinder.local.config import isolated_config
from wayfinder.scenarios import catalog, components, runner
from wayfinder.scenarios.components import ComponentError, ComposeComponents
from wayfinder.scenarios.control import FaultControl
from wayfinder.scenarios.model import Component
from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.run import RunSpec, read_timeline, write_spec
from wayfinder.scenarios.timeline import Switch

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Call:
    argv: list[str]
    overrides: list[dict[str, Any]]  # each extra compose file's content, read while the command ran
    modes: list[int]


@dataclass
class FakeCompose:
    """Records each docker command and the override files it was handed; answers `exit_code`."""

    exit_code: int = 0
    calls: list[Call] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], *, cwd: Path | None = None, timeout: float | None = None) -> int:
        files = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--file"]
        extra = [Path(f) for f in files[1:]]
        self.calls.append(
            Call(
                list(argv),
                [yaml.safe_load(p.read_text()) for p in extra],
                [stat.S_IMODE(p.stat().st_mode) for p in extra],
            )
        )
        return self.exit_code

    def verbs(self) -> list[list[str]]:
        """Each call's arguments after the --project-directory/--file options."""
        out = []
        for call in self.calls:
            args = call.argv[2:]
            while args and args[0] in ("--project-directory", "--file"):
                args = args[2:]
            out.append(args)
        return out


def test_stop_and_start_name_the_compose_service_and_pin_the_checkouts_compose_file(tmp_path: Path):
    fake = FakeCompose()
    stack = ComposeComponents(tmp_path, fake)
    stack.stop("redis")
    stack.start("telemetry")
    assert fake.verbs() == [["stop", "redis"], ["start", "otel-collector"]]
    first = fake.calls[0].argv
    assert first[:2] == ["docker", "compose"]
    assert first[first.index("--project-directory") + 1] == str(tmp_path)
    assert first[first.index("--file") + 1] == str(tmp_path / "docker-compose.yml")


def test_a_release_recreates_one_service_with_an_override_that_is_gone_afterwards(tmp_path: Path):
    fake = FakeCompose()
    ComposeComponents(tmp_path, fake).restart("inventory", {"SERVICE_VERSION": "0.2.0"})
    [call] = fake.calls
    assert fake.verbs() == [["up", "--detach", "--no-deps", "--no-build", "--wait", "inventory"]]
    assert call.overrides == [{"services": {"inventory": {"environment": {"SERVICE_VERSION": "0.2.0"}}}}]
    assert call.modes == [0o600]
    override = call.argv[[i for i, a in enumerate(call.argv) if a == "--file"][1] + 1]
    assert not Path(override).exists()  # no file in the checkout says what a drill changed


def test_the_rollback_is_the_same_up_without_an_override(tmp_path: Path):
    fake = FakeCompose()
    ComposeComponents(tmp_path, fake).restart("checkout-api", {})
    [call] = fake.calls
    assert call.overrides == []
    assert fake.verbs() == [["up", "--detach", "--no-deps", "--no-build", "--wait", "checkout-api"]]


def test_a_failed_command_raises_with_the_command_to_rerun(tmp_path: Path):
    with pytest.raises(ComponentError, match=r"docker compose .* stop redis` exited 1"):
        ComposeComponents(tmp_path, FakeCompose(exit_code=1)).stop("redis")


def test_every_component_a_scenario_can_name_is_a_service_of_the_compose_file():
    services = set(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"])
    named = set(Component.__args__)  # type: ignore[attr-defined]
    missing = {c for c in named if ComposeComponents.service(c) not in services}
    assert missing == set()
    used = {a.component for s in catalog.load_all(ROOT / "scenarios").values() for a in s.actions}
    assert used <= named and {"redis", "telemetry", "inventory"} <= used


def test_what_a_release_changes_is_what_the_compose_services_read():
    """The override replaces keys the compose file sets (it merges `environment` per key)."""
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    release = runner.release_env(
        Switch(at_s=0, do="restart", component="inventory", version="0.2.0", sampler="parentbased_always_on")
    )
    assert set(release) <= set(document["x-service-env"]) | {"OTEL_TRACES_SAMPLER_ARG"}


@pytest.fixture
def compose_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[runner.Runner, FakeCompose]:
    """A runner as `scenario start` leaves it in the compose stack, its docker commands faked."""
    paths = StatePaths(tmp_path / "home")
    control = FaultControl(paths)
    config = isolated_config(paths.home, "http://127.0.0.1:9", "test")
    spec = RunSpec(
        scenario="bad-release-inventory",
        seed=1,
        speed=1,
        started_at=time.time(),
        duration_s=1,
        plan=[],
        load=catalog.load("bad-release-inventory", ROOT / "scenarios").load,
        local_config=config.model_dump(mode="json", by_alias=True),
        mode="compose",
        project_dir=str(tmp_path),
    )
    write_spec(paths, control.token, spec)
    run = runner.Runner(paths)
    assert isinstance(run.components, ComposeComponents) and run.components.project_dir == tmp_path
    fake = FakeCompose()
    run.components = ComposeComponents(tmp_path, fake)
    monkeypatch.setattr(runner, "publish_quietly", lambda *a, **k: None)
    return run, fake


def test_the_runner_undoes_a_release_and_a_stop_in_the_compose_stack(compose_run):
    run, fake = compose_run
    run.apply(Switch(at_s=0, do="restart", component="inventory", version="0.2.0"))
    run.apply(Switch(at_s=0, do="stop", component="redis"))
    load = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        run.undo(runner.LoadRun(pid=load.pid))
    finally:
        load.kill()
        load.wait()
    assert fake.verbs() == [
        ["up", "--detach", "--no-deps", "--no-build", "--wait", "inventory"],
        ["stop", "redis"],
        ["start", "redis"],
        ["up", "--detach", "--no-deps", "--no-build", "--wait", "inventory"],
    ]
    assert [len(c.overrides) for c in fake.calls] == [1, 0, 0, 0]  # the rollback has none
    whats = [e.what for e in read_timeline(run.paths, run.control.token)]
    assert whats == ["restart inventory", "stop redis", "run stopped"]


def test_a_failed_action_is_in_the_sealed_timeline_and_the_run_goes_on(compose_run, caplog):
    run, fake = compose_run
    fake.exit_code = 1
    run.apply(Switch(at_s=0, do="stop", component="telemetry"))
    fake.exit_code = 0
    run.apply(Switch(at_s=0, do="start", component="telemetry"))
    [failed, started] = read_timeline(run.paths, run.control.token)
    assert failed.what == "stop telemetry FAILED" and "exited 1" in failed.detail["error"]
    assert started.what == "start telemetry"
    assert "action failed" in caplog.text
    assert "telemetry" not in caplog.text and "otel-collector" not in caplog.text  # the log names nothing


def test_local_mode_keeps_driving_its_own_processes(tmp_path: Path):
    config = isolated_config(tmp_path, "http://127.0.0.1:9", "test")
    from wayfinder.local.stack import LocalStack

    chosen = components.for_mode("local", LocalStack(config, report=lambda _: None), None)
    assert isinstance(chosen, components.LocalComponents)
    with pytest.raises(ComponentError):
        components.for_mode("compose", LocalStack(config, report=lambda _: None), None)


def test_scenario_start_in_the_compose_stack_runs_at_real_speed_on_its_containers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Its Prometheus has only the real-speed rules; the spec tells the runner to use compose."""
    import argparse

    from wayfinder.scenarios import cli
    from wayfinder.scenarios.run import read_spec

    home = tmp_path / "home"
    monkeypatch.setenv("WAYFINDER_HOME", str(home))
    monkeypatch.setattr(cli, "in_compose_stack", lambda config: True)
    monkeypatch.setattr(cli, "shop_ready", lambda url: True)
    monkeypatch.setattr(cli, "find_project_root", lambda: tmp_path)
    (tmp_path / ".env").write_text("CHECKOUT_API_PORT=18080\n")  # compose's port, not local mode's
    started: list[list[str]] = []

    class NoRunner:
        pid = 0

        def __init__(self, argv: list[str], **_: object) -> None:
            started.append(argv)

    monkeypatch.setattr(cli.subprocess, "Popen", NoRunner)
    assert cli.cmd_start(argparse.Namespace(name="telemetry-pipeline-down", seed=1, speed=10.0)) == 0
    out = capsys.readouterr().out
    assert "real-speed alert rules only: speed 1, not 10" in out
    assert "telemetry-pipeline-down" not in out  # a drill's trainee reads this
    paths = StatePaths(home)
    spec = read_spec(paths, FaultControl(paths).token)
    assert (spec.mode, spec.project_dir, spec.speed) == ("compose", str(tmp_path), 1.0)
    assert spec.checkout_url == "http://127.0.0.1:18080"  # where the load goes
    assert [s.at_s for s in spec.plan if s.component == "telemetry"] == [60, 240]  # not divided by 10
    assert started and started[0][-3:-1] == ["-m", "wayfinder.scenarios.runner"]
