"""The provider's per-region rate limit is a token bucket: a burst, then refusals, then refill."""

from __future__ import annotations

from payment_provider.limits import RegionLimits, TokenBucket
from wayfinder_common.faulthooks import RateLimitParams


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_admits_its_burst_then_refuses_until_tokens_refill():
    clock = Clock()
    bucket = TokenBucket(RateLimitParams(rate_per_s=2, burst=2), clock)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    clock.now = 0.4  # 0.8 of a token
    assert bucket.take() is False
    clock.now = 0.5  # one token
    assert bucket.take() is True


def test_limits_are_per_region_and_lifted_when_the_fault_is_off():
    clock = Clock()
    limits = RegionLimits(clock)
    tight = RateLimitParams(rate_per_s=1, burst=1)
    assert limits.admit("eu-west", tight) and not limits.admit("eu-west", tight)
    assert limits.admit("us-east", None) and limits.admit("us-east", None)
    assert limits.admit("eu-west", None)  # switched off: no bucket at all
