"""The provider's per-region rate limit: turns at a fixed rate, a burst, and a refused request
keeps its turn, so a retry that honours Retry-After: 1 can be refused twice and then go through."""

from __future__ import annotations

from payment_provider.limits import FORGET_AFTER_S, MAX_WAITING, RegionLimits, RegionTurns
from wayfinder_common.faulthooks import RateLimitParams


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_goes_through_then_requests_are_refused():
    clock = Clock()
    turns = RegionTurns(RateLimitParams(rate_per_s=2, burst=3), clock)
    assert [turns.take(k) for k in "abcd"] == [True, True, True, False]
    assert turns.waiting() == 1


def test_a_refused_request_goes_through_at_its_turn_not_before():
    clock = Clock()
    turns = RegionTurns(RateLimitParams(rate_per_s=1, burst=1), clock)
    assert turns.take("first")
    assert not turns.take("second")  # its turn: t = 1.0
    clock.now = 0.99
    assert not turns.take("second")
    clock.now = 1.0
    assert turns.take("second") and turns.waiting() == 0


def test_a_retry_after_one_second_meets_the_articles_shape_when_the_cooldown_is_longer():
    # The walkthrough's limit: a turn every 0.22 s, no burst, a 1.5 s cool-down after a refusal.
    clock = Clock()
    turns = RegionTurns(RateLimitParams(rate_per_s=4.5, burst=1, cooldown_s=1.5), clock)
    assert turns.take("first")
    attempts = []
    for at in (0.1, 1.15, 2.2):  # payment honours Retry-After: 1 (plus the provider's latency)
        clock.now = at
        attempts.append(turns.take("too-soon"))
    assert attempts == [False, False, True]  # attempts 0, 1 -> 429; attempt 2 -> 200
    assert turns.waiting() == 0
    clock.now = 2.3
    assert turns.take("a-newcomer-later")  # the cool-down held one client back, not the queue


def test_a_retry_after_one_second_meets_the_articles_shape_when_the_queue_is_two_deep():
    # Turns every 0.5 s, burst 3: three go through at once, the next three wait 1.5, 2 and 2.5 s
    # for their turn (the burst tolerance lets a new request in up to 1 s early).
    clock = Clock()
    turns = RegionTurns(RateLimitParams(rate_per_s=2, burst=3), clock)
    assert all(turns.take(k) for k in ("a", "b", "c"))
    assert not turns.take("late")  # turn at 1.5 s
    attempts = []
    for at in (0.0, 1.05, 2.1):
        clock.now = at
        attempts.append(turns.take("late"))
    assert attempts == [False, False, True]  # attempt 0, 1 -> 429; attempt 2 -> 200


def test_a_newcomer_cannot_take_the_turn_a_waiting_request_was_given():
    clock = Clock()
    turns = RegionTurns(RateLimitParams(rate_per_s=1, burst=1), clock)
    assert turns.take("a") and not turns.take("waiting")  # waiting's turn: 1.0
    clock.now = 1.0
    assert not turns.take("newcomer")  # gets the next turn, 2.0
    assert turns.take("waiting")


def test_turns_of_clients_that_gave_up_are_forgotten_and_the_queue_is_bounded():
    clock = Clock()
    turns = RegionTurns(RateLimitParams(rate_per_s=1, burst=1), clock)
    turns.take("a")
    turns.take("gave-up")  # turn at 1.0, never claimed
    clock.now = 1.0 + FORGET_AFTER_S + 0.1
    turns.take("someone")
    assert turns.waiting() == 0
    flood = RegionTurns(RateLimitParams(rate_per_s=1, burst=1), Clock())
    for i in range(MAX_WAITING + 5):
        flood.take(f"key-{i}")
    assert flood.waiting() == MAX_WAITING


def test_limits_are_per_region_and_lifted_when_the_fault_is_off():
    clock = Clock()
    limits = RegionLimits(clock)
    tight = RateLimitParams(rate_per_s=1, burst=1)
    assert limits.admit("eu-west", tight, "a") and not limits.admit("eu-west", tight, "b")
    assert limits.admit("us-east", None, "c") and limits.admit("us-east", None, "d")
    assert limits.admit("eu-west", None, "b")  # switched off: no limit, no queue
