"""Generic fault hooks: named scopes with switchable latency, errors, rate limits and timeouts.

Services only know these knobs; which knob a failure scenario turns, and when, is data in
scenarios/. A scope is a bounded string such as "authorize:eu-west". The runtime switch is the
sealed fault state (faultstate.py), written through the token-protected fault control.
"""

from __future__ import annotations

import random
import threading

from pydantic import BaseModel, Field


class Fault(BaseModel):
    """How a scope misbehaves; the defaults are a healthy dependency."""

    latency_ms: int = Field(default=0, ge=0, le=60_000)
    jitter_ms: int = Field(default=0, ge=0, le=60_000)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # answer 503
    rate_limit_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # answer 429 + Retry-After
    retry_after_s: int = Field(default=1, ge=0, le=600)
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # hang past any sane client timeout
    decline_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # business "no" (card declined)


class FaultBook:
    """Thread-safe scope -> Fault map with a seedable random source for deterministic tests."""

    def __init__(self, defaults: dict[str, Fault] | None = None, seed: int | None = None) -> None:
        self._defaults = dict(defaults or {})
        self._faults = dict(self._defaults)
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def get(self, scope: str) -> Fault:
        with self._lock:
            return self._faults.get(scope, Fault())

    def set(self, scope: str, fault: Fault) -> None:
        with self._lock:
            self._faults[scope] = fault

    def reset(self) -> None:
        with self._lock:
            self._faults = dict(self._defaults)

    def snapshot(self) -> dict[str, Fault]:
        with self._lock:
            return dict(self._faults)

    def roll(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._random.random() < rate

    def delay_s(self, fault: Fault) -> float:
        with self._lock:
            jitter = self._random.uniform(0, fault.jitter_ms) if fault.jitter_ms else 0.0
        return (fault.latency_ms + jitter) / 1000.0
