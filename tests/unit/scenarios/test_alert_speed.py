"""Training-speed alert rules: generated from the real-speed ones, current, and promtool-tested."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from wayfinder.scenarios import rulespeed

from tests.support import missing_tool

PROMETHEUS = Path(__file__).resolve().parents[3] / "prometheus"
# The rules' dashboard links and what the rule tests expect them rendered as (the same pair as
# tests/stack/test_stack_prometheus.py uses for the real-speed rules).
GRAFANA_URL_TEMPLATE = "{{ $externalLabels.grafana_url }}"
DEFAULT_GRAFANA_URL = "http://127.0.0.1:3000"


def test_the_generated_rules_are_current():
    assert rulespeed.stale(PROMETHEUS) == [], "run `wayfinder alert-rules --write`"


def test_durations_are_divided_by_the_speed():
    text = "rate(x[5m]) > 1\n        for: 2m\n"
    assert rulespeed.scale_rules(text, 10) == "rate(x[30s]) > 1\n        for: 12s\n"
    assert rulespeed.format_duration(1.5) == "1500ms"
    assert rulespeed.scale_counter_values("0+6x15 _ 3", 10) == "0+0.6x15 _ 0.3"


def test_a_counter_without_a_counter_suffix_is_known_by_its_rate():
    rules = "sum(rate(otelcol_exporter_send_failed_spans[5m])) or increase(jobs{q='a'}[1m]) > up"
    assert rulespeed.counters_in(rules) == {"otelcol_exporter_send_failed_spans", "jobs"}
    tests = "      - series: 'otelcol_exporter_send_failed_spans{exporter=\"x\"}'\n        values: '0+5x10'\n"
    scaled = rulespeed.scale_tests(tests, 10, "rules-training", rulespeed.counters_in(rules))
    assert "values: '0+0.5x10'" in scaled


def test_the_windows_at_training_speed_let_an_alert_fire_within_90_seconds():
    """Worst case: the rule's window must fill and its `for` pass, both at training speed."""
    for path in (PROMETHEUS / "rules-training").glob("*.yml"):
        text = path.read_text()
        windows = [rulespeed.parse_duration(w) for w in re.findall(r"\[(\w+)\]", text)]
        holds = [rulespeed.parse_duration(f) for f in re.findall(r"for:\s*(\w+)", text)]
        assert max(windows, default=0) + max(holds, default=0) <= 90, path


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        missing_tool("promtool is not installed (Debian package `prometheus`)")
    assert found
    return found


def test_promtool_checks_the_training_rules(promtool: str):
    result = subprocess.run(
        [promtool, "check", "rules", *map(str, sorted((PROMETHEUS / "rules-training").glob("*.yml")))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass_at_training_speed(promtool: str, tmp_path: Path):
    # As for the real-speed rules (tests/stack/test_stack_prometheus.py): promtool 2.42 cannot set
    # the external label grafana_url, so the tests run on a copy with its value filled in.
    shutil.copytree(PROMETHEUS / "tests-training", tmp_path / "tests-training")
    (tmp_path / "rules-training").mkdir()
    for path in (PROMETHEUS / "rules-training").glob("*.yml"):
        rendered = path.read_text().replace(GRAFANA_URL_TEMPLATE, DEFAULT_GRAFANA_URL)
        (tmp_path / "rules-training" / path.name).write_text(rendered)
    tests = sorted((tmp_path / "tests-training").glob("*.yml"))
    assert tests
    result = subprocess.run(
        [promtool, "test", "rules", *map(str, tests)],
        capture_output=True,
        text=True,
        cwd=tmp_path / "tests-training",
    )
    assert result.returncode == 0, result.stdout + result.stderr
