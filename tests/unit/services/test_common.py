"""The shared library's small pieces: OTEL setting validation, JSON log lines, fault book, hashing."""

from __future__ import annotations

import json
import logging

import pytest
from checkout_api.idempotency import request_hash
from opentelemetry.sdk.trace import TracerProvider
from payment.settings import Settings as PaymentSettings
from wayfinder_common.faults import Fault, FaultBook
from wayfinder_common.logs import JsonLineFormatter
from wayfinder_common.telemetry import TelemetryConfigError, validate_otel_settings


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratioo"},
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"},
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "ten"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ],
)
def test_settings_the_sdk_would_swallow_fail_start_up(env: dict[str, str], monkeypatch) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(TelemetryConfigError):
        validate_otel_settings(PaymentSettings())


def test_valid_sampler_settings_pass(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.1")
    validate_otel_settings(PaymentSettings())


def test_json_log_line_carries_the_active_trace_and_extras() -> None:
    tracer = TracerProvider().get_tracer("test")
    formatter = JsonLineFormatter("payment")
    with tracer.start_as_current_span("work") as span:
        record = logging.LogRecord("x", logging.WARNING, __file__, 1, "retrying %s", ("now",), None)
        record.__dict__["retry.attempt"] = 2
        line = json.loads(formatter.format(record))
    context = span.get_span_context()
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert line["message"] == "retrying now" and line["level"] == "WARNING"
    assert line["service.name"] == "payment" and line["retry.attempt"] == 2


def test_fault_book_is_healthy_by_default_and_resets_to_defaults() -> None:
    book = FaultBook({"authorize:eu-west": Fault(latency_ms=60)}, seed=1)
    assert book.get("unknown") == Fault()
    book.set("authorize:eu-west", Fault(rate_limit_rate=1.0))
    assert book.roll(book.get("authorize:eu-west").rate_limit_rate)
    book.reset()
    assert book.get("authorize:eu-west").latency_ms == 60
    assert not book.roll(0.0)


def test_request_hash_ignores_key_order_but_not_values() -> None:
    assert request_hash({"a": 1, "b": [1, 2]}) == request_hash({"b": [1, 2], "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": 2})
