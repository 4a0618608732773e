"""A dead or hanging collector must not turn every dropped span into a log line."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from wayfinder_common import telemetry
from wayfinder_common.telemetry import OnePerInterval


class HangingExporter(SpanExporter):
    """An endpoint that accepts and never answers: the export blocks until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait(10)
        return SpanExportResult.FAILURE


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_full_queue_logs_once_per_interval_not_once_per_dropped_span(monkeypatch) -> None:
    sdk_logger = logging.getLogger(telemetry._SDK_QUEUE_LOGGER)
    monkeypatch.setattr(sdk_logger, "filters", [])
    telemetry._quiet_the_sdk_when_the_endpoint_is_dead()
    telemetry._quiet_the_sdk_when_the_endpoint_is_dead()  # idempotent: one filter
    assert sum(isinstance(f, OnePerInterval) for f in sdk_logger.filters) == 1
    lines = Lines()
    sdk_logger.addHandler(lines)
    exporter = HangingExporter()
    processor = BatchSpanProcessor(
        exporter, max_queue_size=8, max_export_batch_size=2, schedule_delay_millis=1
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    try:
        tracer = provider.get_tracer("test")
        tracer.start_span("first").end()
        assert exporter.entered.wait(10), "the exporter was never called"
        for _ in range(200):  # the worker is stuck in export: the queue fills, then drops
            tracer.start_span("work").end()
    finally:
        sdk_logger.removeHandler(lines)
        exporter.release.set()
        provider.shutdown()
    assert [m for m in lines.messages if m.startswith("Queue full")] == ["Queue full, dropping Span."]


def test_the_next_line_after_the_interval_counts_what_was_held_back() -> None:
    now = [0.0]
    quiet = OnePerInterval(60.0, clock=lambda: now[0])

    def passes(message: str) -> str | None:
        record = logging.makeLogRecord({"msg": message, "args": ()})
        return record.getMessage() if quiet.filter(record) else None

    assert passes("Queue full, dropping span.") == "Queue full, dropping span."
    assert [passes("Queue full, dropping span.") for _ in range(3)] == [None, None, None]
    assert passes("Queue full, dropping log.") == "Queue full, dropping log."  # another message
    now[0] = 61.0
    assert passes("Queue full, dropping span.") == "Queue full, dropping span. (3 more not logged)"
    assert passes("Queue full, dropping span.") is None
