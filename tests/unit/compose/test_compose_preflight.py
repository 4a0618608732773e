"""`wayfinder up --mode compose` says what is missing (client, plugin, engine) before running anything."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_compose_mode import FakeRunner
from wayfinder import compose_mode

ROOT = Path(__file__).resolve().parents[3]
DOCKER = "/usr/bin/docker"


def test_no_docker_command_is_one_line_and_runs_nothing():
    runner = FakeRunner()
    assert compose_mode.preflight(runner=runner, which=lambda _: None) == [compose_mode.NO_DOCKER]
    assert runner.calls == []


def test_client_without_the_compose_plugin():
    # `docker compose version` fails, `docker info` works.
    runner = FakeRunner([1, 0])
    assert compose_mode.preflight(runner=runner, which=lambda _: DOCKER) == [compose_mode.NO_COMPOSE]
    assert [argv for argv, _, _ in runner.calls] == [["docker", "compose", "version"], ["docker", "info"]]


def test_plugin_but_no_engine():
    runner = FakeRunner([0, 1])
    assert compose_mode.preflight(runner=runner, which=lambda _: DOCKER) == [compose_mode.NO_ENGINE]


def test_neither_plugin_nor_engine_names_both():
    runner = FakeRunner([1, subprocess.TimeoutExpired(["docker", "info"], 10)])
    problems = compose_mode.preflight(runner=runner, which=lambda _: DOCKER)
    assert problems == [compose_mode.NO_COMPOSE, compose_mode.NO_ENGINE]


def test_everything_present_means_no_problem():
    assert compose_mode.preflight(runner=FakeRunner([0, 0]), which=lambda _: DOCKER) == []


def test_up_stops_before_compose_when_a_check_fails(tmp_path: Path):
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    runner, out = FakeRunner(), io.StringIO()
    code = compose_mode.up(tmp_path, runner=runner, out=out, checks=lambda: [compose_mode.NO_COMPOSE])
    assert code == 1
    assert runner.calls == []  # `docker compose up` never ran
    assert out.getvalue() == f"wayfinder: {compose_mode.NO_COMPOSE}\n"


# A docker client without the compose plugin, as Debian's docker.io without docker-compose behaves:
# `docker compose ...` treats the plugin's flags as its own and fails; the engine answers.
FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$FAKE_DOCKER_LOG"
case "$1" in
  info) echo "Server Version: 26.1.5"; exit 0 ;;
  compose) echo "unknown flag: --project-directory" >&2; echo "See 'docker --help'." >&2; exit 125 ;;
  *) exit 0 ;;
esac
"""


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for docker")
def test_cli_without_compose_plugin_says_so_and_starts_nothing(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    log = tmp_path / "docker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYFINDER_")}
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            "FAKE_DOCKER_LOG": str(log),
            "WAYFINDER_HOME": str(tmp_path / "home"),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "wayfinder.cli", "up", "--mode", "compose"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"wayfinder: {compose_mode.NO_COMPOSE}" in result.stdout
    assert "docker-compose-plugin" in result.stdout
    assert "did not become healthy" not in result.stdout
    calls = log.read_text().splitlines()
    assert calls == ["compose version", "info"]  # checked, and nothing else tried
