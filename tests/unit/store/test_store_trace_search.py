"""`wayfinder traces` filters in the store: every span condition on one span, errors anywhere."""

from __future__ import annotations

from wayfinder.store import TelemetryStore
from wayfinder.store.model import SpanRecord

MS = 1_000_000


def span(
    trace: str, span_id: str, name: str, service: str, start_ms: int, ms: int, **attributes: object
) -> SpanRecord:
    status = str(attributes.pop("status", "UNSET"))
    return SpanRecord(
        trace_id=trace * 32,
        span_id=span_id * 16,
        parent_span_id=None if span_id == "1" else "1" * 16,
        name=name,
        kind="INTERNAL",
        start_unix_nano=start_ms * MS,
        end_unix_nano=(start_ms + ms) * MS,
        status_code=status,
        status_message="",
        service_name=service,
        attributes=attributes,  # type: ignore[arg-type]
        resource={"service.name": service},
        scope_name="test",
    )


def shop_traces(store: TelemetryStore) -> None:
    store.add_spans(
        [
            # a: slow in eu-west, the slowness inside payment.authorize
            span("a", "1", "POST /checkout", "checkout-api", 1000, 1900, region="eu-west"),
            span("a", "2", "payment.authorize", "payment", 1010, 1800, region="eu-west", attempts=3),
            # b: fast in eu-west
            span("b", "1", "POST /checkout", "checkout-api", 2000, 90, region="eu-west"),
            span("b", "2", "payment.authorize", "payment", 2010, 40, region="eu-west", attempts=1),
            # c: slow in us-east, with a failed span
            span("c", "1", "POST /checkout", "checkout-api", 3000, 1200, region="us-east"),
            span("c", "2", "payment.authorize", "payment", 3010, 50, region="us-east", status="ERROR"),
        ]
    )


def ids(found: list[str]) -> list[str]:
    return [t[0] for t in found]


def test_attribute_and_minimum_duration(store: TelemetryStore) -> None:
    shop_traces(store)
    assert ids(store.search_trace_ids(attributes=[("region", "eu-west")])) == ["b", "a"]  # newest first
    assert ids(store.search_trace_ids(attributes=[("region", "eu-west")], min_duration_ns=500 * MS)) == ["a"]
    assert ids(store.search_trace_ids(min_duration_ns=1000 * MS)) == ["c", "a"]


def test_span_conditions_hold_for_one_span(store: TelemetryStore) -> None:
    shop_traces(store)
    # c's root is slow and its payment span exists, but payment.authorize itself was fast.
    assert ids(store.search_trace_ids(span_name="payment.authorize", min_duration_ns=1000 * MS)) == ["a"]
    assert ids(store.search_trace_ids(service="payment", min_duration_ns=1000 * MS)) == ["a"]
    assert store.search_trace_ids(service="checkout-api", attributes=[("attempts", "3")]) == []


def test_attribute_values_typed_on_a_command_line_match_numbers(store: TelemetryStore) -> None:
    shop_traces(store)
    assert ids(store.search_trace_ids(attributes=[("attempts", "3")])) == ["a"]
    assert ids(store.search_trace_ids(attributes=[("attempts", "1"), ("region", "eu-west")])) == ["b"]
    assert store.search_trace_ids(attributes=[("region", "ap-south")]) == []


def test_errors_anywhere_in_the_trace(store: TelemetryStore) -> None:
    shop_traces(store)
    assert ids(store.search_trace_ids(errors=True)) == ["c"]
    # The failing span is payment.authorize; the root matched the duration: still trace c.
    assert ids(
        store.search_trace_ids(errors=True, span_name="POST /checkout", min_duration_ns=1000 * MS)
    ) == ["c"]
    assert store.search_trace_ids(errors=True, attributes=[("region", "eu-west")]) == []


def test_limit(store: TelemetryStore) -> None:
    shop_traces(store)
    assert ids(store.search_trace_ids(limit=1)) == ["c"]
