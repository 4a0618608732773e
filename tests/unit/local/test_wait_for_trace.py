"""`wayfinder checkout` waits for a whole trace: long enough for the slowest process's export."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from wayfinder.local import orders
from wayfinder.local.orders import CheckoutResult, wait_for_trace


@dataclass(frozen=True)
class _Span:
    name: str
    parent_span_id: str | None


class _Clock:
    """Time that moves only when the code under test sleeps: no real waiting in a unit test."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class _Store:
    """Each process's spans appear when its exporter's timer fires."""

    def __init__(self, clock: _Clock, arrivals: list[tuple[float, _Span]]) -> None:
        self.clock = clock
        self.arrivals = arrivals

    def spans(self, trace_id: str) -> list[_Span]:
        return [span for at, span in self.arrivals if at <= self.clock.now]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(orders.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(orders.time, "sleep", fake.sleep)
    return fake


def test_a_hop_exported_a_whole_delay_after_the_others_is_still_shown(clock: _Clock) -> None:
    # checkout-api and the worker export at once; the provider's timer fires 1 s later.
    arrivals = [
        (0.1, _Span("POST /checkout", None)),
        (0.1, _Span("invoice.create", "a")),
        (1.1, _Span("POST /v1/invoices", "b")),
    ]
    result = CheckoutResult(201, {}, "0" * 32)
    spans = wait_for_trace(_Store(clock, arrivals), result, export_delay_ms=1000)
    assert {s.name for s in spans} == {"POST /checkout", "invoice.create", "POST /v1/invoices"}


def test_a_short_delay_keeps_the_wait_short(clock: _Clock) -> None:
    arrivals = [(0.1, _Span("POST /checkout", None)), (0.2, _Span("invoice.create", "a"))]
    result = CheckoutResult(201, {}, "0" * 32)
    spans = wait_for_trace(_Store(clock, arrivals), result, export_delay_ms=200)
    assert len(spans) == 2
    assert clock.now < 2.0  # settled after 0.7 s of no news, not the 20 s deadline
