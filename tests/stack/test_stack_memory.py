"""The Python services' memory limits agree with what `make bench` last measured, with headroom.

benchmarks/memory.py writes benchmarks/memory-measured.json (each service's peak in its own
memory cgroup under the heaviest load and a Redis outage); docs/stack.md shows those peaks
beside the limits. A limit changed without measuring, a peak the limit no longer covers, or a
table that tells another story fails here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from stack_sources import PYTHON_SERVICES, ROOT, compose, memory_bytes

MEASURED = ROOT / "benchmarks" / "memory-measured.json"
STACK_DOC = ROOT / "docs" / "stack.md"
MIB = 1024**2


def measured() -> dict[str, Any]:
    return dict(json.loads(MEASURED.read_text(encoding="utf-8")))


def doc_peaks() -> dict[str, str]:
    """Container -> the "Measured peak" cell of docs/stack.md's memory table."""
    rows: dict[str, str] = {}
    header: list[str] = []
    for line in STACK_DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[:3] == ["Container", "Image", "Memory limit"]:
            header = cells
        elif header and line.startswith("|") and len(cells) == len(header):
            match = re.fullmatch(r"`([a-z-]+)`", cells[0])
            if match:
                rows[match.group(1)] = cells[header.index("Measured peak")]
        elif header and not line.startswith("|"):
            break
    return rows


def compose_limit_mib(name: str) -> int:
    limit = compose()["services"][name]["deploy"]["resources"]["limits"]["memory"]
    return memory_bytes(limit) // MIB


def headroom_problems(data: dict[str, Any]) -> list[str]:
    """Every service whose limit leaves less than the benchmark's headroom over its peak."""
    problems = []
    for name, figures in data["services"].items():
        needed = (1 + data["headroom"]) * figures["container_peak_mib"]
        if figures["compose_limit_mib"] < needed:
            problems.append(f"{name}: limit {figures['compose_limit_mib']}M < {needed:.0f} MiB")
    return problems


def test_every_python_service_was_measured_in_a_cgroup_under_load():
    data = measured()
    assert set(data["services"]) == set(PYTHON_SERVICES)
    assert data["cgroup"] in ("v1", "v2")
    assert data["headroom"] >= 0.30
    assert data["load"]["requests"] > 0
    assert all(f["container_peak_mib"] >= f["peak_mib"] > 0 for f in data["services"].values())


@pytest.mark.parametrize("name", sorted(PYTHON_SERVICES))
def test_the_limit_measured_against_is_the_compose_limit(name: str):
    # A limit edited after the run has not been checked against any peak: run `make bench`.
    assert measured()["services"][name]["compose_limit_mib"] == compose_limit_mib(name)


def test_every_limit_leaves_the_headroom_over_the_measured_peak():
    assert headroom_problems(measured()) == []


def test_a_limit_without_headroom_is_caught():
    data = measured()
    figures = data["services"]["payment"]
    figures["compose_limit_mib"] = int(figures["container_peak_mib"] * 1.1)
    assert [p.split(":")[0] for p in headroom_problems(data)] == ["payment"]


def test_docs_table_shows_the_measured_peaks():
    peaks = doc_peaks()
    data = measured()["services"]
    assert {name: peaks.get(name) for name in data} == {
        name: f"{round(figures['container_peak_mib'])} MiB" for name, figures in data.items()
    }
