"""Scenario files: every file validates, names only hooks and alerts that exist, and a broken one
fails with an error naming the file and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from wayfinder.scenarios import catalog, docs
from wayfinder.scenarios.catalog import ScenarioFileError
from wayfinder_common.faulthooks import HOOKS

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "scenarios"
REQUIRED = {
    "provider-rate-limit-eu-west",
    "provider-slow-ap-south",
    "hot-sku-lock-contention",
    "database-slowdown",
    "redis-down",
    "invoice-failures-enterprise",
    "retry-storm",
    "bad-release-inventory",
    "lost-trace-context",
    "telemetry-pipeline-down",
    "no-incident",
    "sampling-trap",
}


def _alerts() -> set[str]:
    names = set()
    for path in (ROOT / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {rule["alert"] for rule in group["rules"] if "alert" in rule}
    return names


def test_every_required_scenario_exists_and_validates():
    scenarios = catalog.load_all(SCENARIOS)
    assert set(scenarios) >= REQUIRED


def test_every_hook_a_scenario_names_exists():
    for name, scenario in catalog.load_all(SCENARIOS).items():
        for fault in scenario.faults:
            assert fault.hook in HOOKS, f"{name}: {fault.hook}"
            HOOKS[fault.hook].check_scope(fault.scope)


def test_every_alert_a_scenario_names_is_a_rule():
    alerts = _alerts()
    for name, scenario in catalog.load_all(SCENARIOS).items():
        assert scenario.alert is None or scenario.alert in alerts, name


def test_scenarios_without_an_alert_give_a_ticket_or_a_report():
    for scenario in catalog.load_all(SCENARIOS).values():
        if scenario.alert is None:
            assert scenario.told.kind in ("ticket", "customer-report")


def test_what_the_trainee_is_told_never_names_the_answer():
    for scenario in catalog.load_all(SCENARIOS).values():
        told = f"{scenario.title} {scenario.told.text}".lower()
        for fault in scenario.faults:
            assert fault.hook not in told, scenario.name
            assert fault.scope.lower() not in told, scenario.name
        assert scenario.name not in told


def test_the_schema_file_is_current():
    assert (SCENARIOS / "schema.json").read_text() == catalog.json_schema(), (
        "run `wayfinder scenario schema --write`"
    )


def test_each_scenario_has_its_current_doc_with_a_trainer_section():
    pages = docs.generate(catalog.load_all(SCENARIOS), ROOT / "docs" / "scenarios")
    for path, text in pages.items():
        assert path.exists() and path.read_text() == text, f"{path}: run `wayfinder scenario docs --write`"
        told, answer = text.split("## For trainers", 1)
        assert re.search(r"^## What you are told", told, re.M)
        scenario = catalog.load(path.stem, SCENARIOS)
        assert scenario.answer.root_cause not in told and scenario.answer.root_cause in answer


def _broken(tmp_path: Path, mutate: dict) -> Path:
    document = yaml.safe_load((SCENARIOS / "provider-rate-limit-eu-west.yaml").read_text())
    for dotted, value in mutate.items():
        target = document
        *parents, last = dotted.split(".")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
    path = tmp_path / "provider-rate-limit-eu-west.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        ({"faults.0.hook": "provider.explode"}, "faults.0.hook"),
        ({"faults.0.scope": "mars-north"}, "faults.0"),
        ({"faults.0.params": {"rate_per_s": 1, "colour": "red"}}, "faults.0"),
        ({"difficulty": "impossible"}, "difficulty"),
        ({"load.region_mix": {"moon": 1.0}}, "load"),
        ({"answer.cause": "gremlins"}, "answer.cause"),
    ],
)
def test_a_malformed_file_names_the_file_and_the_field(tmp_path: Path, mutate: dict, field: str):
    path = _broken(tmp_path, mutate)
    with pytest.raises(ScenarioFileError) as error:
        catalog.load_file(path)
    assert str(path) in str(error.value)
    assert f"field {field}" in str(error.value)


def test_a_file_whose_name_differs_from_its_scenario_is_refused(tmp_path: Path):
    path = tmp_path / "other-name.yaml"
    path.write_text((SCENARIOS / "no-incident.yaml").read_text())
    with pytest.raises(ScenarioFileError, match="field name"):
        catalog.load_file(path)


def test_the_cli_reports_a_broken_file_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    from wayfinder.cli import main

    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "no-incident.yaml").write_text("name: no-incident\ntitle: x\n")
    monkeypatch.setattr(catalog, "scenarios_dir", lambda root=None: folder)
    assert main(["scenario", "show", "no-incident"]) == 2
    error = capsys.readouterr().err
    assert str(folder / "no-incident.yaml") in error and "field difficulty" in error
