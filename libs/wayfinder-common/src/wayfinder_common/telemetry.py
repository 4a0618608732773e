"""The one place providers, exporters and instrumentors are configured (business code never does).

Everything exports OTLP over http/protobuf to OTEL_EXPORTER_OTLP_ENDPOINT: the collector in the
Docker stack, the embedded store in local mode, a receiver inside the test in end-to-end tests.
The standard OTEL_* variables (endpoint, BSP delays, metric interval, sampler) are read by the
SDK itself; this module only adds what the SDK gets wrong by default (see otel-python-notes),
and what makes the export path cheaper without changing the OTLP payload (a kept-alive
connection, spans encoded in place, a resource hashed once: docs/performance.md, "Fourth pass").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode

from wayfinder_common.dbspans import name_statement_spans
from wayfinder_common.errors import Outcome, WayfinderError
from wayfinder_common.logs import configure_stdout_logging
from wayfinder_common.otlp_transport import KeepAliveTransport, transport_for
from wayfinder_common.settings import ServiceSettings
from wayfinder_common.span_encoding import encode_spans
from wayfinder_common.synthetic import SyntheticTrafficMarker

log = logging.getLogger(__name__)

# httpx requests may carry span attributes for their client span in this extension: the
# payment client uses it to put `retry.attempt` on each attempt's own span.
SPAN_ATTRIBUTES_EXTENSION = "wayfinder.span_attributes"

_KNOWN_SAMPLERS = {
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
}


class TelemetryConfigError(ValueError):
    """An OTEL_* setting the SDK would silently ignore or replace."""


def validate_otel_settings(settings: ServiceSettings) -> None:
    """Fail start-up on settings the SDK would otherwise swallow (unknown sampler, bad ratio, gRPC)."""
    sampler = settings.otel_traces_sampler
    if sampler is not None and sampler not in _KNOWN_SAMPLERS:
        raise TelemetryConfigError(f"OTEL_TRACES_SAMPLER={sampler!r} is not one of {sorted(_KNOWN_SAMPLERS)}")
    if settings.otel_traces_sampler_arg is not None and sampler in (
        "traceidratio",
        "parentbased_traceidratio",
    ):
        try:
            ratio = float(settings.otel_traces_sampler_arg)
        except ValueError:
            ratio = -1.0
        if not 0.0 <= ratio <= 1.0:
            raise TelemetryConfigError(
                f"OTEL_TRACES_SAMPLER_ARG={settings.otel_traces_sampler_arg!r} must be in [0, 1]"
            )
    protocol = settings.otel_exporter_otlp_protocol
    if protocol is not None and protocol != "http/protobuf":
        raise TelemetryConfigError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: Wayfinder ships only the http/protobuf exporter"
        )


class HashedOnceResource(Resource):
    """A Resource that computes its hash once instead of for every span and log record exported.

    The OTLP encoders group each batch by resource in a dict, and Resource.__hash__ serialises
    every attribute as sorted JSON on each call: 15-20 % of encoding a span (about 8 of 36 us,
    measured with encode_spans on 40 database spans). A resource's attributes never change.
    """

    def __init__(self, attributes: Any, schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def of(cls, resource: Resource) -> HashedOnceResource:
        return cls(resource.attributes, resource.schema_url)


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    shutdown_timeout_ms: int

    def shutdown(self) -> None:
        """Flush and stop every provider within shutdown_timeout_ms, whatever the collector does.

        Each exporter retries up to its own timeout, and there are three of them: run the lot in
        a daemon thread and stop waiting at the deadline, so a dead collector costs at most this
        long and never the whole grace period (SIGKILL would lose everything, flushed or not).
        """
        worker = threading.Thread(target=self._flush_and_stop, name="telemetry-shutdown", daemon=True)
        worker.start()
        worker.join(self.shutdown_timeout_ms / 1000)

    def _flush_and_stop(self) -> None:
        step_ms = max(100, self.shutdown_timeout_ms // 3)
        self.tracer_provider.force_flush(step_ms)
        self.logger_provider.force_flush(step_ms)
        self.meter_provider.force_flush(step_ms)
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()


_current: Telemetry | None = None


def setup_telemetry(settings: ServiceSettings) -> Telemetry | None:
    """Install global providers, OTLP exporters and the process-wide instrumentors; idempotent."""
    global _current
    configure_stdout_logging(settings.service_name, settings.log_level)
    if _current is not None or not settings.telemetry_on:
        return _current
    validate_otel_settings(settings)
    encode_spans_in_place()
    resource = HashedOnceResource.of(Resource.create(settings.resource_attributes))
    # shutdown_on_exit=False: the SDK's own atexit hooks would run an UNBOUNDED shutdown after
    # ours gave up at its deadline; Telemetry.shutdown is the one, bounded, exit path.
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)  # sampler from env
    tracer_provider.add_span_processor(SyntheticTrafficMarker())
    tracer_provider.add_span_processor(BatchSpanProcessor(_span_exporter(settings)))
    # Cumulative temporality (the default) is what Prometheus' OTLP receiver expects.
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[PeriodicExportingMetricReader(_metric_exporter(settings))],
        shutdown_on_exit=False,
    )
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(_log_exporter(settings)))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    _logs.set_logger_provider(logger_provider)
    _instrument_process()
    _current = Telemetry(
        tracer_provider, meter_provider, logger_provider, settings.telemetry_shutdown_timeout_ms
    )
    return _current


# The exporters' `_transport` argument is typed by overloads that do not take None: each
# exporter is built with the lighter transport, or with its own default.
def _span_exporter(settings: ServiceSettings) -> OTLPSpanExporter:
    transport = _exporter_transport(settings, "traces")
    return OTLPSpanExporter(_transport=transport) if transport else OTLPSpanExporter()


def _metric_exporter(settings: ServiceSettings) -> OTLPMetricExporter:
    transport = _exporter_transport(settings, "metrics")
    return OTLPMetricExporter(_transport=transport) if transport else OTLPMetricExporter()


def _log_exporter(settings: ServiceSettings) -> OTLPLogExporter:
    transport = _exporter_transport(settings, "logs")
    return OTLPLogExporter(_transport=transport) if transport else OTLPLogExporter()


def _exporter_transport(settings: ServiceSettings, signal: str) -> KeepAliveTransport | None:
    """The kept-alive transport, unless the signal's exporter needs its own (see otlp_transport)."""
    if settings.otlp_credential_provider(signal):
        return None  # the provider's authenticated session rides on the exporter's transport
    return transport_for(settings.otlp_endpoint(signal))


def encode_spans_in_place() -> None:
    """Make the OTLP/HTTP span exporter encode with span_encoding (same bytes, half the CPU)."""
    # The exporter calls its module's `encode_spans` and offers no other way to change it.
    # Replacing that one name keeps all of the exporter's own export path (size limit,
    # retries, its metrics); test_span_encoding holds the two encoders to the same bytes.
    from opentelemetry.exporter.otlp.proto.http import trace_exporter

    trace_exporter.encode_spans = encode_spans  # type: ignore[assignment]


def shutdown_telemetry() -> None:
    global _current
    if _current is not None:
        _current.shutdown()
        _current = None


def _instrument_process() -> None:
    # Imported here so a unit test that never sets telemetry up never patches httpx or logging.
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.logging import LoggingInstrumentor

    LoggingInstrumentor().instrument()
    for handler in logging.getLogger().handlers:
        if type(handler).__name__ == "LoggingHandler":
            handler.addFilter(_not_from_the_sdk)
    HTTPXClientInstrumentor().instrument(
        request_hook=_copy_span_attributes, async_request_hook=_copy_span_attributes_async
    )


def _not_from_the_sdk(record: logging.LogRecord) -> bool:
    # The SDK's own complaints ("Failed to export logs batch") must not be exported as logs:
    # with the collector down each failure would queue a new record to fail on, forever, and a
    # flush at shutdown would never drain. They still reach stdout through the JSON handler.
    return not record.name.startswith("opentelemetry")


def _copy_span_attributes(span: Span, request: Any) -> None:
    extensions = getattr(request, "extensions", None) or {}
    attributes = extensions.get(SPAN_ATTRIBUTES_EXTENSION)
    if attributes and span.is_recording():
        span.set_attributes(attributes)


async def _copy_span_attributes_async(span: Span, request: Any) -> None:
    _copy_span_attributes(span, request)


def instrument_engine(engine: Any) -> None:
    """Database client spans and the pool's usage metric for one SQLAlchemy engine."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    from wayfinder_common.pool_usage import observe_pool_usage

    if _current is not None:
        SQLAlchemyInstrumentor().instrument(engine=engine, enable_commenter=False)
        drop_connect_spans()
        name_statement_spans(engine)
        observe_pool_usage(engine)


def drop_connect_spans() -> None:
    """Undo the SQLAlchemy instrumentation's "connect" span (statement spans stay)."""
    # The instrumentation also wraps Engine.connect in a "connect" span: one per pool checkout
    # (8 per order), each a few microseconds long and in no scenario's evidence. A connection
    # that cannot be had still shows: the request's span gets error.type database_unavailable
    # (db.database_errors). The statement spans and the pool metric hang on engine events and stay.
    from opentelemetry.instrumentation.utils import unwrap
    from sqlalchemy.engine import Engine

    if hasattr(Engine.connect, "__wrapped__"):
        unwrap(Engine, "connect")


def instrument_celery() -> None:
    """Celery producer/consumer spans; call in every process that sends or runs tasks."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    if _current is not None:
        CeleryInstrumentor().instrument()


def current_trace_id() -> str | None:
    """The active trace id as 32 hex chars, for error bodies and answers a user can navigate from."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def record_error(span: Span, code: str, exc: BaseException | None = None) -> None:
    """Mark a span failed with a bounded error.type; the exception becomes a span event."""
    if not span.is_recording():
        return
    span.set_attribute("error.type", code)
    if exc is not None:
        span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, code))


def mark_outcome(span: Span, outcome: Outcome, exc: BaseException | None = None) -> None:
    """Put a decided outcome on a span, the way semantic conventions read HTTP statuses.

    A server fault (5xx) marks the span ERROR, so tail sampling and failure panels keep it. A
    caller-caused outcome (a declined card, an unknown SKU: 4xx) is an answer, not an error: the
    status stays UNSET and only `error.type` says which answer it was.
    """
    if not outcome.failed or not span.is_recording():
        return
    if outcome.server_fault:
        record_error(span, outcome.code, exc)
    else:
        span.set_attribute("error.type", outcome.code)


@contextmanager
def business_span(tracer: trace.Tracer, name: str, **attributes: Any) -> Iterator[Span]:
    """A manual span at a business boundary; domain errors set error.type from their code."""
    with tracer.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            yield span
        except WayfinderError as exc:
            # An expected domain outcome: a bounded code is the triage detail, not a stack trace.
            mark_outcome(span, Outcome.of_error(exc))
            raise
        except Exception as exc:
            record_error(span, type(exc).__name__, exc)
            raise
