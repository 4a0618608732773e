"""Generic fault hooks: named scopes with switchable latency, errors, rate limits and timeouts.

Services only know these knobs; which knob a failure scenario turns, and when, is data in
scenarios/. A scope is a bounded string such as "authorize:eu-west".

Any HTTP service can also carry route hooks (`FAULT_HOOKS=true`, off by default): scope
"route:<handler name>" with `crash_rate` turns that route's answer into a crash, as a bug would.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
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
    crash_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # route hooks: an unexpected exception


class InjectedCrash(RuntimeError):
    """What a route hook raises for `crash_rate`: stands in for a bug, so it is handled as one."""


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


def fault_router(book: FaultBook) -> APIRouter:
    """GET/PUT/DELETE /admin/faults: the runtime switch scenarios use."""
    router = APIRouter(prefix="/admin/faults", tags=["faults"])

    @router.get("")
    def list_faults() -> dict[str, Fault]:
        """Every scope's current behaviour."""
        return book.snapshot()

    @router.put("/{scope}")
    def set_fault(scope: str, fault: Fault) -> Fault:
        """Switch one scope's behaviour."""
        book.set(scope, fault)
        return fault

    @router.delete("")
    def reset_faults() -> dict[str, Fault]:
        """Back to healthy defaults."""
        book.reset()
        return book.snapshot()

    return router


def route_fault_middleware(
    book: FaultBook,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """HTTP middleware: scope "route:<handler name>" throws away the handler's answer and crashes.

    The crash comes after the handler ran, like a bug in the response path: the request carries
    everything the handler learnt (its route, its labels) into the 500, as a real bug would.
    """

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        if route is not None:
            scope = f"route:{getattr(route, 'name', 'unknown')}"
            if book.roll(book.get(scope).crash_rate):
                raise InjectedCrash(f"fault hook {scope} crashed the handler")
        return response

    return middleware
