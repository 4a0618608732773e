"""After a training-speed run: the training rules stay until the real-speed windows forget it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from wayfinder.local import prometheus as local_prometheus
from wayfinder.scenarios import rulesback
from wayfinder.scenarios.paths import StatePaths

ROOT = Path(__file__).resolve().parents[3]


def test_the_deadline_is_the_real_rules_longest_window_after_the_stop() -> None:
    assert rulesback.longest_window_s(ROOT / "prometheus" / "rules") == 300
    assert rulesback.longest_window_s(ROOT / "prometheus" / "rules-training") == 30
    assert (
        rulesback.deadline_after(1000.0, ROOT / "prometheus" / "rules")
        == 1000 + 300 + rulesback.SETTLE_MARGIN_S
    )


def _waiting(tmp_path: Path, deadline: float) -> StatePaths:
    paths = StatePaths(tmp_path)
    paths.rules_back.parent.mkdir(parents=True)
    paths.rules_back.write_text(json.dumps({"deadline": deadline, "local_config": {"home": str(tmp_path)}}))
    return paths


def test_switches_back_only_when_due_and_no_run_owns_the_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    switched: list[Path] = []
    monkeypatch.setattr(
        local_prometheus, "use_rules", lambda config, processes, rules: switched.append(rules)
    )
    paths = _waiting(tmp_path, deadline=2000.0)
    assert rulesback.pending(paths) == 2000.0
    assert not rulesback.switch_back_when_due(paths, now=1999.0) and switched == []
    # A new run is live (its runner pid): it owns the rules, whatever the deadline says.
    paths.runner_pid.write_text(str(os.getpid()))
    assert not rulesback.switch_back_when_due(paths, now=2001.0) and switched == []
    paths.runner_pid.unlink()
    assert rulesback.switch_back_when_due(paths, now=2001.0)
    assert switched == [local_prometheus.rules_dir()] and rulesback.pending(paths) is None


def test_a_new_run_cancels_the_switch_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    switched: list[Path] = []
    monkeypatch.setattr(
        local_prometheus, "use_rules", lambda config, processes, rules: switched.append(rules)
    )
    paths = _waiting(tmp_path, deadline=0.0)
    rulesback.cancel(paths)
    assert rulesback.pending(paths) is None
    assert not rulesback.switch_back_when_due(paths) and switched == []
    assert rulesback.main([str(tmp_path)]) == 0  # nothing waits: the process ends at once
