"""Local mode's Prometheus wiring (wayfinder.local.prometheus) and its settings, without starting it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from wayfinder.local import prometheus as local_prometheus
from wayfinder.local.config import LocalConfig
from wayfinder.local.prerequisites import MissingPrerequisite
from wayfinder.local.processes import ProcessTable
from wayfinder.local.prometheus import LocalPrometheus, rules_dir

from tests.support import missing_tool

ROOT = Path(__file__).resolve().parents[3]


def config(home: Path) -> LocalConfig:
    return LocalConfig.model_validate({"home": home, "store_port": 14318, "prometheus_port": 19090})


def test_settings_scrape_the_store_every_5s_keeping_its_job_and_instance(tmp_path: Path) -> None:
    prometheus = LocalPrometheus(config(tmp_path), ProcessTable(tmp_path / "run", tmp_path / "logs"))
    settings = prometheus.settings()
    assert settings["global"] == {"scrape_interval": "5s", "evaluation_interval": "5s"}
    assert settings["rule_files"] == [str(ROOT / "prometheus" / "rules" / "*.yml")]
    job, itself = settings["scrape_configs"]  # type: ignore[misc]
    assert job["job_name"] == "telemetry-store" and job["honor_labels"] is True
    # Itself too, as in the compose stack: `up` by job then tells a telemetry gap from a monitoring one.
    assert itself == {"job_name": "prometheus", "static_configs": [{"targets": ["127.0.0.1:19090"]}]}
    assert job["static_configs"] == [{"targets": ["127.0.0.1:14318"]}]
    (relabel,) = job["metric_relabel_configs"]
    assert relabel["regex"] == r"127\.0\.0\.1:14318" and relabel["replacement"] == ""
    assert "--enable-feature=exemplar-storage" in prometheus.argv(Path("/usr/bin/prometheus"))
    assert "--web.listen-address=127.0.0.1:19090" in prometheus.argv(Path("/usr/bin/prometheus"))


def test_promtool_accepts_the_written_config_and_the_rules_it_loads(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        missing_tool("promtool (Debian package 'prometheus') is not installed")
    prometheus = LocalPrometheus(config(tmp_path), ProcessTable(tmp_path / "run", tmp_path / "logs"))
    written = prometheus.write_config()
    assert written.read_text().startswith("# Written by `wayfinder up`")
    assert yaml.safe_load(written.read_text()) == prometheus.settings()
    result = subprocess.run([str(promtool), "check", "config", str(written)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    rule_files = sorted(rules_dir(ROOT).glob("*.yml"))
    assert rule_files and f"SUCCESS: {len(rule_files)} rule files found" in result.stdout


def test_without_prometheus_local_mode_says_once_that_alerts_are_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def absent() -> Path:
        raise MissingPrerequisite("prometheus not found: install the 'prometheus' package")

    monkeypatch.setattr(local_prometheus, "prometheus_server", absent)
    processes = ProcessTable(tmp_path / "run", tmp_path / "logs")
    started, line = local_prometheus.start_for(config(tmp_path), processes)
    assert not started
    assert (
        line
        == "  prometheus       alerts unavailable: prometheus not found: install the 'prometheus' package"
    )
    assert processes.names() == []
    assert local_prometheus.status_detail(config(tmp_path), processes) == (
        False,
        False,
        "not installed: alerts unavailable",
    )


def test_settings_come_from_wayfinder_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYFINDER_PROMETHEUS_PORT", "19191")
    monkeypatch.setenv("WAYFINDER_OTLP_FORWARD", "http://collector.example:4318")
    settings = LocalConfig()
    assert (settings.prometheus_port, settings.otlp_forward) == (19191, "http://collector.example:4318")
