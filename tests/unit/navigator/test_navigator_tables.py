"""The log table and the trace list: columns, ordering, levels, width."""

from __future__ import annotations

from wayfinder.navigator import render_logs, render_trace_list
from wayfinder.store.model import LogRecordRow, SpanRecord

T0 = 1_760_000_000_000_000_000  # 2025-10-09 08:53:20 UTC
MS = 1_000_000


def record(
    at_ms: int, body: str, text: str = "", number: int = 9, span_id: str | None = None
) -> LogRecordRow:
    return LogRecordRow(
        time_unix_nano=T0 + at_ms * MS,
        severity_text=text,
        severity_number=number,
        body=body,
        trace_id="a" * 32 if span_id else None,
        span_id=span_id,
        service_name="payment",
        attributes={"error.type": "payment_provider_unavailable"} if number >= 17 else {},
        resource={"service.name": "payment"},
        scope_name="payment",
    )


def span(
    trace: str, span_id: str, parent: str | None, name: str, service: str, end_ms: int, status: str
) -> SpanRecord:
    return SpanRecord(
        trace_id=trace * 32,
        span_id=span_id * 16,
        parent_span_id=parent * 16 if parent else None,
        name=name,
        kind="SERVER",
        start_unix_nano=T0,
        end_unix_nano=T0 + end_ms * MS,
        status_code=status,
        status_message="",
        service_name=service,
        attributes={},
        resource={"service.name": service},
        scope_name="test",
    )


def test_log_lines_show_time_service_level_span_and_message() -> None:
    logs = [
        record(250, "provider answered 429, retrying", "WARNING", 13, "b7ad6b7169203331"),
        record(
            900, "payment provider unavailable\nTraceback (most recent call last):\n  ...", "", 17, "c" * 16
        ),
        record(1000, "done"),
    ]
    lines = render_logs(logs, width=120).splitlines()

    assert lines[0].split() == ["time", "(UTC)", "service", "level", "span", "message"]
    assert lines[1].split()[:5] == ["08:53:20.250", "payment", "WARN", "b7ad6b71", "provider"]
    assert lines[2].split()[2] == "ERROR"  # from the severity number when the text is empty
    assert "payment provider unavailable [+2 lines] error=payment_provider_unavailable" in lines[2]
    assert "Traceback" not in lines[2]
    assert lines[3].split()[3] == "-"  # no span
    assert max(len(line) for line in render_logs(logs * 3, width=70).splitlines()) <= 70
    assert "\x1b[33m" in render_logs(logs, color=True).splitlines()[1]


def test_trace_list_summarises_each_trace_in_the_given_order() -> None:
    failed = [
        span("1", "a", None, "POST /checkout", "checkout-api", 412, "ERROR"),
        span("1", "b", "a", "payment.authorize", "payment", 300, "ERROR"),
        span("1", "c", "a", "inventory.reserve", "inventory", 50, "OK"),
    ]
    fine = [span("2", "d", None, "GET /orders/{order_id}", "checkout-api", 8, "UNSET")]
    lines = render_trace_list([fine, failed]).splitlines()

    assert lines[0].split() == ["trace", "id", "root", "span", "duration", "errors", "services"]
    assert lines[1].startswith("2" * 32) and lines[2].startswith("1" * 32)
    assert "GET /orders/{order_id}" in lines[1] and "8.00 ms" in lines[1]
    assert "POST /checkout" in lines[2] and "412.0 ms" in lines[2] and "✗ 2" in lines[2]
    assert lines[2].split("✗ 2")[1].strip().startswith("checkout-api, payment")
    assert max(len(line) for line in lines) <= 100
    assert render_trace_list([]) == "(no traces)"
