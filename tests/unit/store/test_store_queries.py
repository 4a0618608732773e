"""TelemetryStore queries, capture files and the SQLite file shared with other processes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from wayfinder.store import (
    Exemplar,
    LogRecordRow,
    MetricPoint,
    SpanEvent,
    SpanLink,
    SpanRecord,
    TelemetryStore,
)

T0 = 1_760_000_000_000_000_000
MS = 1_000_000


def span(
    trace: int,
    span_id: str,
    parent: str | None,
    name: str,
    service: str,
    start_ms: int,
    attributes: Mapping[str, Any] | None = None,
    status: str = "UNSET",
) -> SpanRecord:
    return SpanRecord(
        trace_id=f"{trace:032x}",
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind="INTERNAL",
        start_unix_nano=T0 + start_ms * MS,
        end_unix_nano=T0 + (start_ms + 10) * MS,
        status_code=status,
        status_message="",
        service_name=service,
        attributes=dict(attributes or {}),
        resource={"service.name": service, "service.version": "0.1.0"},
        scope_name=service.replace("-", "_"),
    )


@pytest.fixture
def shop(store: TelemetryStore) -> TelemetryStore:
    """Three checkouts (traces 1..3, started 0, 1000, 2000 ms) and a later read of order o-1."""
    checkouts = [("o-1", "eu-west", "pro"), ("o-2", "us-east", "free")]
    for n, (order, region, tier) in enumerate(checkouts, start=1):
        root, place, pay = f"{n:x}" * 16, f"{n:x}a" * 8, f"{n:x}b" * 8
        place_attrs = {"order.id": order, "region": region, "account.tier": tier, "order.item_count": n}
        pay_attrs = {"retry.attempt": 0, "payment.fallback": n == 2}
        store.add_spans(
            [
                span(n, root, None, "POST /checkout", "checkout-api", n * 1000),
                span(n, place, root, "checkout.place_order", "checkout-api", n * 1000 + 1, place_attrs),
                span(n, pay, place, "payment.authorize", "payment", n * 1000 + 5, pay_attrs),
            ]
        )
    store.add_spans([span(3, "3" * 16, None, "POST /reservations", "inventory", 0)])
    store.add_spans(
        [span(4, "4" * 16, None, "GET /orders/{order_id}", "checkout-api", 3000, {"order.id": "o-1"})]
    )
    return store


def test_spans_filter_and_come_ordered_by_start(shop: TelemetryStore) -> None:
    assert [s.name for s in shop.spans(trace_id=f"{1:032x}")] == [
        "POST /checkout",
        "checkout.place_order",
        "payment.authorize",
    ]
    assert [s.trace_id[-1] for s in shop.spans(service="payment")] == ["1", "2"]
    assert [s.trace_id[-1] for s in shop.spans(name="POST /checkout")] == ["1", "2"]
    assert [s.trace_id[-1] for s in shop.spans(since_unix_nano=T0 + 2000 * MS)] == ["2", "2", "2", "4"]
    starts = [s.start_unix_nano for s in shop.spans()]
    assert starts == sorted(starts) and len(starts) == 8


def test_trace_ids_are_newest_first_and_filter_on_one_matching_span(shop: TelemetryStore) -> None:
    assert shop.trace_ids() == [f"{n:032x}" for n in (4, 2, 1, 3)]
    assert shop.trace_ids(limit=2) == [f"{4:032x}", f"{2:032x}"]
    assert shop.trace_ids(service="inventory") == [f"{3:032x}"]
    assert shop.trace_ids(span_name="payment.authorize") == [f"{2:032x}", f"{1:032x}"]
    assert shop.trace_ids(attribute=("region", "eu-west")) == [f"{1:032x}"]
    assert shop.trace_ids(attribute=("order.item_count", 2)) == [f"{2:032x}"]
    assert shop.trace_ids(attribute=("payment.fallback", True)) == [f"{2:032x}"]
    # Every filter must hold on the same span: checkout-api never has retry.attempt.
    assert shop.trace_ids(service="checkout-api", attribute=("retry.attempt", 0)) == []


def test_find_trace_by_attribute_returns_the_trace_that_introduced_the_value(shop: TelemetryStore) -> None:
    assert shop.find_trace_by_attribute("order.id", "o-1") == f"{1:032x}"  # not the later GET (trace 4)
    assert shop.find_trace_by_attribute("order.id", "o-2") == f"{2:032x}"
    assert shop.find_trace_by_attribute("order.id", "o-404") is None
    assert shop.find_trace_by_attribute("order.item_count", "2") is None  # types must match
    with pytest.raises(TypeError):
        shop.find_trace_by_attribute("order.id", ["o-1"])


def test_a_span_exported_twice_is_stored_once(store: TelemetryStore) -> None:
    record = span(9, "9" * 16, None, "invoice.create", "invoice-worker", 0)
    store.add_spans([record])
    store.add_spans([record])
    assert store.spans() == [record]


def test_logs_and_metric_points_filter(store: TelemetryStore) -> None:
    store.add_logs([log(0, "payment", "a" * 32), log(5, "checkout-api", "b" * 32), log(9, "payment", None)])
    store.add_metric_points([point("payment.authorizations", 1), point("checkout.request.duration", 2)])
    assert [entry.body for entry in store.logs(service="payment")] == ["message 0", "message 9"]
    assert [entry.body for entry in store.logs(trace_id="b" * 32)] == ["message 5"]
    assert [entry.body for entry in store.logs(since_unix_nano=T0 + 5 * MS)] == ["message 5", "message 9"]
    assert [p.name for p in store.metric_points(since_unix_nano=T0 + 2 * MS)] == ["checkout.request.duration"]
    assert store.metric_points(service="nobody") == []
    assert store.metric_names() == ["checkout.request.duration", "payment.authorizations"]


def log(at_ms: int, service: str, trace_id: str | None) -> LogRecordRow:
    return LogRecordRow(
        time_unix_nano=T0 + at_ms * MS,
        severity_text="INFO",
        severity_number=9,
        body=f"message {at_ms}",
        trace_id=trace_id,
        span_id="c" * 16 if trace_id else None,
        service_name=service,
        attributes={"region": "ap-south"},
        resource={"service.name": service},
        scope_name="app",
    )


def point(name: str, at_ms: int) -> MetricPoint:
    histogram = name.endswith("duration")
    return MetricPoint(
        name=name,
        kind="histogram" if histogram else "sum",
        unit="s" if histogram else "{authorization}",
        description="",
        monotonic=None if histogram else True,
        service_name="payment",
        attributes={"region": "eu-west"},
        resource={"service.name": "payment"},
        scope_name="payment",
        time_unix_nano=T0 + at_ms * MS,
        value=None if histogram else 3.0,
        count=4 if histogram else None,
        sum=1.25 if histogram else None,
        bucket_bounds=(0.1, 0.5) if histogram else (),
        bucket_counts=(1, 2, 1) if histogram else (),
        exemplars=(Exemplar(T0, 0.3, "d" * 32, "e" * 16),) if histogram else (),
    )


def test_capture_round_trip_of_added_records(store: TelemetryStore, tmp_path: Path) -> None:
    rich = span(
        5, "5" * 16, "6" * 16, "run/invoice.create", "invoice-worker", 0, {"tags": ["a", "b"]}, "ERROR"
    )
    rich = SpanRecord(
        **{
            **rich.__dict__,
            "kind": "CONSUMER",
            "events": (SpanEvent("exception", T0, {"exception.type": "TimeoutError"}),),
            "links": (SpanLink("f" * 32, "1" * 16, {"messaging.operation": "publish"}),),
        }
    )
    store.add_spans([rich])
    store.add_logs([log(1, "payment", "a" * 32)])
    store.add_metric_points([point("checkout.request.duration", 2), point("payment.authorizations", 2)])
    capture = tmp_path / "capture.jsonl"

    store.dump_capture(capture)

    entries = [json.loads(line) for line in capture.read_text().splitlines()]
    assert [entry["signal"] for entry in entries] == ["traces", "logs", "metrics"]
    with TelemetryStore.from_capture(capture) as reloaded:
        assert reloaded.spans() == [rich]
        assert reloaded.logs() == store.logs()
        assert reloaded.metric_points() == store.metric_points()


def test_from_capture_names_the_broken_line(tmp_path: Path) -> None:
    capture = tmp_path / "broken.jsonl"
    capture.write_text('{"signal": "traces", "otlp": {}}\n\n{"signal": "spans", "otlp": {}}\n')
    with pytest.raises(ValueError, match=r"broken.jsonl:3"):
        TelemetryStore.from_capture(capture)


def test_another_process_reads_the_file_while_it_is_open_for_writing(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.db"
    with TelemetryStore(path) as writer:
        writer.add_spans([span(7, "7" * 16, None, "outbox.publish", "outbox-relay", 0)])
        reader = (
            "import sys; from wayfinder.store import TelemetryStore; "
            "s = TelemetryStore(sys.argv[1]); print(s.trace_ids()[0], len(s.spans()))"
        )
        result = subprocess.run(
            [sys.executable, "-c", reader, str(path)], capture_output=True, text=True, timeout=60, check=True
        )
        assert result.stdout.split() == [f"{7:032x}", "1"]
        writer.add_spans([span(8, "8" * 16, None, "outbox.publish", "outbox-relay", 5)])  # still writable
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
