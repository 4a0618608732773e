"""The concurrency benchmark's phase order: every set-up at the same mean position in the run."""

from __future__ import annotations

import statistics

from benchmarks.concurrency import ORDER, rounds_order


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
