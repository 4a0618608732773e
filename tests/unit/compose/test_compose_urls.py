"""The URLs `wayfinder up` prints follow the ports compose publishes (shell, then .env, then default)."""

from __future__ import annotations

import io
from pathlib import Path

from wayfinder import compose_mode


def test_defaults_when_nothing_is_set(tmp_path: Path):
    assert compose_mode.urls(tmp_path, environ={}) == {
        "Grafana (start here)": "http://127.0.0.1:3000",
        "Checkout API docs": "http://127.0.0.1:8080/docs",
        "Prometheus": "http://127.0.0.1:9090",
    }


def test_env_file_ports_are_used(tmp_path: Path):
    (tmp_path / ".env").write_text(
        "# comment\nGRAFANA_PORT=3300\n\nCHECKOUT_API_PORT='8180'\nexport PROMETHEUS_PORT=\"9190\"\n"
    )
    assert compose_mode.urls(tmp_path, environ={}) == {
        "Grafana (start here)": "http://127.0.0.1:3300",
        "Checkout API docs": "http://127.0.0.1:8180/docs",
        "Prometheus": "http://127.0.0.1:9190",
    }


def test_shell_variables_win_over_env_file_and_empty_means_default(tmp_path: Path):
    (tmp_path / ".env").write_text("GRAFANA_PORT=3300\nPROMETHEUS_PORT=9190\n")
    found = compose_mode.urls(tmp_path, environ={"GRAFANA_PORT": "4000", "PROMETHEUS_PORT": ""})
    assert found["Grafana (start here)"] == "http://127.0.0.1:4000"
    assert found["Prometheus"] == "http://127.0.0.1:9090"


def test_up_prints_the_configured_ports(tmp_path: Path):
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    (tmp_path / ".env").write_text("GRAFANA_PORT=3300\n")
    out = io.StringIO()
    code = compose_mode.up(tmp_path, runner=lambda argv, **_: 0, out=out, environ={})
    assert code == 0
    assert "http://127.0.0.1:3300" in out.getvalue()
    assert "http://127.0.0.1:3000" not in out.getvalue()
