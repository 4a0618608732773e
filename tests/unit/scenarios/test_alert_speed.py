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


def test_the_generated_rules_are_current():
    assert rulespeed.stale(PROMETHEUS) == [], "run `wayfinder alert-rules --write`"


def test_durations_are_divided_by_the_speed():
    text = "rate(x[5m]) > 1\n        for: 2m\n"
    assert rulespeed.scale_rules(text, 10) == "rate(x[30s]) > 1\n        for: 12s\n"
    assert rulespeed.format_duration(1.5) == "1500ms"
    assert rulespeed.scale_counter_values("0+6x15 _ 3", 10) == "0+0.6x15 _ 0.3"


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


def test_promtool_unit_tests_pass_at_training_speed(promtool: str):
    tests = sorted((PROMETHEUS / "tests-training").glob("*.yml"))
    assert tests
    result = subprocess.run(
        [promtool, "test", "rules", *map(str, tests)],
        capture_output=True,
        text=True,
        cwd=PROMETHEUS / "tests-training",
    )
    assert result.returncode == 0, result.stdout + result.stderr
