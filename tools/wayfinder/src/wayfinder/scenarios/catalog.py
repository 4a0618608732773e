"""Loading scenario files: one YAML file each, errors that name the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from wayfinder.local.config import find_project_root
from wayfinder.scenarios.model import Scenario


class ScenarioFileError(Exception):
    """A scenario file that does not parse or does not match the schema."""


def scenarios_dir(root: Path | None = None) -> Path:
    return (root or find_project_root()) / "scenarios"


def load_file(path: Path) -> Scenario:
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ScenarioFileError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ScenarioFileError(f"{path}: expected a mapping at the top level")
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"field {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ScenarioFileError(f"{path}: {problems}") from None
    if scenario.name != path.stem:
        raise ScenarioFileError(f"{path}: field name: {scenario.name!r} must match the file name")
    return scenario


def load_all(folder: Path | None = None) -> dict[str, Scenario]:
    folder = folder or scenarios_dir()
    return {path.stem: load_file(path) for path in sorted(folder.glob("*.yaml"))}


def load(name: str, folder: Path | None = None) -> Scenario:
    path = (folder or scenarios_dir()) / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(load_all(folder))) or "none"
        raise ScenarioFileError(f"no scenario {name!r} (known: {known})")
    return load_file(path)


def json_schema() -> str:
    """scenarios/schema.json: for editors and other tools; a test keeps it in step with the model."""
    return json.dumps(Scenario.model_json_schema(), indent=2, sort_keys=True) + "\n"
