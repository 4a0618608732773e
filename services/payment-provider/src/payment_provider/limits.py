"""A token bucket per region: the provider's real rate limit, which the load meets or does not."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from wayfinder_common.faulthooks import RateLimitParams


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved; a request without a token is refused."""

    def __init__(self, params: RateLimitParams, clock: Callable[[], float] = time.monotonic) -> None:
        self.params = params
        self._clock = clock
        self._tokens = float(params.burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            refill = (now - self._updated) * self.params.rate_per_s
            self._tokens = min(float(self.params.burst), self._tokens + refill)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class RegionLimits:
    """One bucket per limited region; a changed limit starts a fresh bucket, a lifted one drops it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def admit(self, region: str, params: RateLimitParams | None) -> bool:
        with self._lock:
            if params is None:
                self._buckets.pop(region, None)
                return True
            bucket = self._buckets.get(region)
            if bucket is None or bucket.params != params:
                bucket = self._buckets[region] = TokenBucket(params, self._clock)
        return bucket.take()
