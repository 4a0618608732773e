"""Fixtures for the store tests: a fresh store, a receiver on a free port, polling with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from wayfinder.store import OTLPReceiver, TelemetryStore

T = TypeVar("T")
Poll = Callable[..., object]


def poll_until(check: Callable[[], T], description: str, timeout: float = 10.0) -> T:
    """Call `check` until it returns something truthy; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {description}")
        time.sleep(0.02)


@pytest.fixture
def wait_for() -> Callable[..., object]:
    return poll_until


@pytest.fixture
def store() -> Iterator[TelemetryStore]:
    telemetry = TelemetryStore(":memory:")
    yield telemetry
    telemetry.close()


@pytest.fixture
def receiver(store: TelemetryStore) -> Iterator[OTLPReceiver]:
    with OTLPReceiver(store, port=0) as running:
        yield running
