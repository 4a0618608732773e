"""The concurrency benchmark's phase order (every set-up at the same mean position in the run)
and its verdict (each target missed fails the run)."""

from __future__ import annotations

import statistics

import pytest

from benchmarks.concurrency import ORDER, Phase, Ratios, rounds_order


def test_every_setup_sits_at_the_same_mean_position() -> None:
    order = rounds_order(2)
    assert sorted(order) == sorted((setup, n) for setup in ORDER for n in (1, 2))
    mean_position = {
        setup: statistics.mean(i for i, (s, _) in enumerate(order) if s == setup) for setup in ORDER
    }
    # A steady drift of the machine over the run moves every set-up alike.
    assert len(set(mean_position.values())) == 1


def test_the_second_round_runs_in_reverse() -> None:
    order = [setup for setup, _ in rounds_order(2)]
    assert order[:4] == list(ORDER)
    assert order[4:] == list(reversed(ORDER))


def _phase(name: str, per_s: float, p99_ms: float, failures: int = 0) -> Phase:
    # 100 latencies, one per 1 % of the distribution: the 99th percentile is about p99_ms.
    latencies = [p99_ms * (i + 1) / 99 for i in range(100)]
    return Phase(name, latencies, failures, seconds=len(latencies) / per_s, cpu_s=1.0)


def _phases(**change: list[Phase]) -> dict[str, list[Phase]]:
    phases = {
        "off": [_phase("off", 40, 300), _phase("off", 40, 300)],
        "on": [_phase("on", 38, 330), _phase("on", 38, 330)],
        "endpoint closed": [_phase("closed", 38, 330), _phase("closed", 38, 330)],
        "endpoint black hole": [_phase("hole", 38, 330), _phase("hole", 38, 330)],
    }
    return {**phases, **change}


def test_targets_met_when_every_ratio_is_within_its_target() -> None:
    found = Ratios.of(_phases())
    assert found.throughput == pytest.approx(0.95)
    assert found.p99 == pytest.approx(1.10, abs=0.01)
    assert found.dead_p99 == {
        "endpoint closed": pytest.approx(1.0),
        "endpoint black hole": pytest.approx(1.0),
    }
    assert found.met


@pytest.mark.parametrize(
    "change",
    [
        {"on": [_phase("on", 34, 330), _phase("on", 34, 330)]},  # throughput 0.85
        {"on": [_phase("on", 38, 360), _phase("on", 38, 360)]},  # p99 1.20
        # One dead set-up over: 1.10 of on (the other set-ups' p99 unchanged).
        {"endpoint black hole": [_phase("hole", 38, 363), _phase("hole", 38, 363)]},
        {"endpoint closed": [_phase("closed", 38, 330, failures=1), _phase("closed", 38, 330)]},
        {"on": [_phase("on", 38, 330), Phase("on", [], 40, seconds=20, cpu_s=1.0)]},  # no checkout
    ],
)
def test_each_target_missed_fails_the_run(change: dict[str, list[Phase]]) -> None:
    assert not Ratios.of(_phases(**change)).met
