"""The streamed check (chunks of whole traces from the store) gives the whole-data check's report."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from contract_builders import REGISTRY, SECOND, Capture, good_checkout, trace_id
from test_contract_rules import BAD
from wayfinder.contract.check import check_store, run_checks
from wayfinder.contract.model import Registry
from wayfinder.contract.registry import load_registry
from wayfinder.store.db import TelemetryStore


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REGISTRY)


def everything() -> Capture:
    """Every rule's bad example plus well-behaved checkouts, spread over many traces."""
    capture = Capture()
    for n in range(2, 12):
        one = good_checkout(trace=trace_id(100 + n), order=f"0b9a6c1e-3f2d-4a57-9c1e-5d7f0e8a2b{n:02d}")
        later = n * 10 * SECOND  # one checkout every ten seconds, so a window can cut some off
        capture += Capture(
            [
                replace(s, start_unix_nano=s.start_unix_nano + later, end_unix_nano=s.end_unix_nano + later)
                for s in one.spans
            ],
            [replace(r, time_unix_nano=r.time_unix_nano + later) for r in one.logs],
            [replace(p, time_unix_nano=p.time_unix_nano + later) for p in one.points],
        )
    for build in BAD.values():
        capture += build()
    return capture


@pytest.fixture
def store(tmp_path: Path) -> TelemetryStore:
    capture = everything()
    with TelemetryStore(tmp_path / "telemetry.db") as filled:
        filled.add_spans(capture.spans)
        filled.add_logs(capture.logs)
        filled.add_metric_points(capture.points)
    reopened = TelemetryStore(tmp_path / "telemetry.db")
    yield reopened
    reopened.close()


@pytest.mark.parametrize("chunk", [1, 3, 50, 100_000])
def test_streaming_in_any_chunk_size_gives_the_same_report(
    store: TelemetryStore, registry: Registry, chunk: int
) -> None:
    whole = run_checks(store.spans(), store.logs(), store.metric_points(), registry)

    streamed = check_store(store, registry, chunk_records=chunk)

    assert {f.violation.rule for f in whole.findings} == {rule for rule in BAD}  # every rule fired
    assert streamed == whole


def test_the_streamed_window_matches_the_whole_window(store: TelemetryStore, registry: Registry) -> None:
    window = timedelta(seconds=35)
    whole = run_checks(store.spans(), store.logs(), store.metric_points(), registry, window=window)

    streamed = check_store(store, registry, window=window, chunk_records=2)

    assert streamed == whole
    assert 0 < streamed.checked["spans"] < len(store.spans())  # the window really cut something
