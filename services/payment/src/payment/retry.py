"""Retry policy pieces: exponential backoff with full jitter, Retry-After, and a retry budget."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float
    cap_s: float

    def delay_s(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)] so retries do not synchronise."""
        return rng() * min(self.cap_s, self.base_s * (2**attempt))


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the provider never sends the HTTP-date form)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class RetryBudget:
    """Allow retries up to `ratio` of recent first attempts (with a floor), over a sliding window.

    When the provider is down for everyone, per-request retries would multiply its load; the
    budget caps the amplification fleet-wide for this process.
    """

    def __init__(
        self,
        ratio: float,
        min_per_window: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ratio = ratio
        self._min = min_per_window
        self._window_s = window_s
        self._clock = clock
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        for events in (self._requests, self._retries):
            while events and now - events[0] > self._window_s:
                events.popleft()

    def record_request(self) -> None:
        with self._lock:
            now = self._clock()
            self._trim(now)
            self._requests.append(now)

    def try_spend(self) -> bool:
        """Take one retry from the budget; False when it is exhausted."""
        with self._lock:
            now = self._clock()
            self._trim(now)
            allowed = max(self._min, int(self._ratio * len(self._requests)))
            if len(self._retries) >= allowed:
                return False
            self._retries.append(now)
            return True
