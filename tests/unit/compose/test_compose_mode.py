"""Compose mode drives the docker CLI correctly (wayfinder.compose_mode, with a fake runner)."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from wayfinder import compose_mode


@dataclass
class FakeRunner:
    """Records every command; answers with scripted exit codes (or raises a scripted error)."""

    answers: list[int | BaseException] = field(default_factory=list)
    calls: list[tuple[list[str], Path | None, float | None]] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], *, cwd: Path | None = None, timeout: float | None = None) -> int:
        self.calls.append((list(argv), cwd, timeout))
        answer = self.answers.pop(0) if self.answers else 0
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    return tmp_path


def test_no_docker_cli_means_no_engine_and_no_command_run():
    runner = FakeRunner()
    assert compose_mode.engine_available(runner=runner, which=lambda _: None) is False
    assert runner.calls == []


def test_engine_available_when_docker_info_succeeds():
    runner = FakeRunner([0])
    assert compose_mode.engine_available(runner=runner, which=lambda _: "/usr/bin/docker")
    argv, _, timeout = runner.calls[0]
    assert argv == ["docker", "info"]
    assert timeout is not None and timeout <= 15


@pytest.mark.parametrize(
    "answer",
    [1, subprocess.TimeoutExpired(["docker", "info"], 10), FileNotFoundError("docker")],
)
def test_engine_unavailable_when_docker_info_fails_or_hangs(answer):
    runner = FakeRunner([answer])
    assert compose_mode.engine_available(runner=runner, which=lambda _: "/usr/bin/docker") is False


def test_up_builds_waits_and_prints_every_url(project: Path):
    runner, out = FakeRunner([0]), io.StringIO()
    assert compose_mode.up(project, runner=runner, out=out, checks=list) == 0
    ((argv, cwd, _),) = runner.calls
    assert argv[:2] == ["docker", "compose"]
    assert argv[argv.index("--file") + 1] == str(project / "docker-compose.yml")
    assert argv[-4:] == ["up", "--detach", "--build", "--wait"]
    assert cwd == project
    printed = out.getvalue()
    for url in compose_mode.URLS.values():
        assert url in printed
    assert "http://127.0.0.1:3000" in printed


def test_up_failure_returns_the_code_and_prints_no_urls(project: Path):
    runner, out = FakeRunner([17]), io.StringIO()
    assert compose_mode.up(project, runner=runner, out=out, checks=list) == 17
    assert "http://127.0.0.1:3000" not in out.getvalue()
    assert "logs" in out.getvalue()


def test_up_outside_a_checkout_runs_nothing(tmp_path: Path):
    runner, out = FakeRunner(), io.StringIO()
    assert compose_mode.up(tmp_path, runner=runner, out=out, checks=list) == 2
    assert runner.calls == []


@pytest.mark.parametrize(("remove_volumes", "expect_volumes"), [(False, False), (True, True)])
def test_down(project: Path, remove_volumes: bool, expect_volumes: bool):
    runner = FakeRunner([0])
    assert compose_mode.down(project, runner=runner, remove_volumes=remove_volumes) == 0
    ((argv, _, _),) = runner.calls
    assert "down" in argv
    assert ("--volumes" in argv) is expect_volumes


def test_down_passes_the_exit_code_through(project: Path):
    assert compose_mode.down(project, runner=FakeRunner([3])) == 3


def test_urls_are_the_published_loopback_ports():
    assert set(compose_mode.URLS.values()) == {
        "http://127.0.0.1:3000",
        "http://127.0.0.1:8080/docs",
        "http://127.0.0.1:9090",
    }
