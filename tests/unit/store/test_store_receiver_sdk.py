"""Real OTel SDK exporters -> OTLPReceiver -> TelemetryStore: what services will do in the e2e tests.

A provider's force_flush returns only after the receiver answered, and the receiver answers
only after the rows are committed: so the assertions need no waiting at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from wayfinder.store import OTLPReceiver, TelemetryStore

LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10]


def resource(service: str) -> Resource:
    return Resource.create({"service.name": service, "deployment.environment.name": "test"})


def tracer_provider(
    receiver: OTLPReceiver, service: str, compression: Compression = Compression.NoCompression
) -> TracerProvider:
    provider = TracerProvider(resource=resource(service), shutdown_on_exit=False)
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", compression=compression)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def meter_provider(receiver: OTLPReceiver, service: str) -> MeterProvider:
    # A long interval: the test exports explicitly with force_flush.
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{receiver.endpoint}/v1/metrics"),
        export_interval_millis=600_000,
    )
    return MeterProvider(
        metric_readers=[reader],
        resource=resource(service),
        exemplar_filter=TraceBasedExemplarFilter(),
        shutdown_on_exit=False,
    )


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip, Compression.Deflate])
def test_spans_keep_tree_kind_status_attributes_events_and_links(
    receiver: OTLPReceiver, store: TelemetryStore, compression: Compression
) -> None:
    provider = tracer_provider(receiver, "checkout-api", compression)
    tracer = provider.get_tracer("checkout_api")
    with tracer.start_as_current_span("POST /checkout", kind=SpanKind.SERVER) as server:
        server.set_attribute("http.route", "/checkout")
        server.set_attribute("http.response.status_code", 502)
        with tracer.start_as_current_span("checkout.place_order") as place:
            place.set_attributes({"order.id": "9f1c", "order.item_count": 3, "region": "eu-west"})
            place.set_attribute("checkout.amount", 12.5)
            place.set_attribute("checkout.express", True)
            place.set_attribute("order.skus", ["sku-1", "sku-2"])
            place.add_event("payment.declined", {"provider.decision": "declined"})
            place.add_link(server.get_span_context(), {"link.reason": "test"})
            place.set_status(Status(StatusCode.ERROR, "payment declined"))
    assert provider.force_flush(10_000)
    provider.shutdown()

    root, child = store.spans()
    assert (root.name, root.kind, root.parent_span_id) == ("POST /checkout", "SERVER", None)
    assert root.attributes == {"http.route": "/checkout", "http.response.status_code": 502}
    assert child.parent_span_id == root.span_id and child.trace_id == root.trace_id
    assert (child.kind, child.status_code, child.status_message) == ("INTERNAL", "ERROR", "payment declined")
    assert child.attributes["order.item_count"] == 3
    assert child.attributes["checkout.amount"] == 12.5
    assert child.attributes["checkout.express"] is True
    assert child.attributes["order.skus"] == ["sku-1", "sku-2"]
    assert [(e.name, e.attributes) for e in child.events] == [
        ("payment.declined", {"provider.decision": "declined"})
    ]
    assert [(link.span_id, link.attributes) for link in child.links] == [
        (root.span_id, {"link.reason": "test"})
    ]
    assert root.trace_id == format(server.get_span_context().trace_id, "032x")
    assert child.service_name == "checkout-api" and child.scope_name == "checkout_api"
    assert child.resource["deployment.environment.name"] == "test"
    assert store.find_trace_by_attribute("order.id", "9f1c") == root.trace_id


def test_histogram_exemplar_points_at_the_span_active_when_recorded(
    receiver: OTLPReceiver, store: TelemetryStore
) -> None:
    traces = tracer_provider(receiver, "checkout-api")
    meters = meter_provider(receiver, "checkout-api")
    duration = meters.get_meter("checkout_api").create_histogram(
        "checkout.request.duration", unit="s", explicit_bucket_boundaries_advisory=LATENCY_BUCKETS
    )
    with traces.get_tracer("checkout_api").start_as_current_span("checkout.place_order") as span:
        duration.record(0.3, {"checkout.outcome": "success", "region": "eu-west"})
    duration.record(2.5, {"checkout.outcome": "success", "region": "eu-west"})  # outside any span
    assert meters.force_flush(10_000)

    (point,) = store.metric_points(name="checkout.request.duration")
    assert (point.kind, point.unit, point.monotonic) == ("histogram", "s", None)
    assert point.service_name == "checkout-api"
    assert point.attributes == {"checkout.outcome": "success", "region": "eu-west"}
    assert point.count == 2 and point.sum == pytest.approx(2.8)
    assert point.bucket_bounds == tuple(float(b) for b in LATENCY_BUCKETS)
    assert len(point.bucket_counts) == len(LATENCY_BUCKETS) + 1
    assert point.bucket_counts[LATENCY_BUCKETS.index(0.5)] == 1  # 0.3 falls in (0.25, 0.5]
    assert point.bucket_counts[LATENCY_BUCKETS.index(3)] == 1  # 2.5 falls in (2, 3]
    context = span.get_span_context()
    (exemplar,) = point.exemplars  # the trace-based filter drops the measurement outside a span
    assert exemplar.trace_id == format(context.trace_id, "032x")
    assert exemplar.span_id == format(context.span_id, "016x")
    assert exemplar.value == pytest.approx(0.3)
    meters.shutdown()
    traces.shutdown()


def test_sums_carry_monotonicity_and_gauges_their_value(
    receiver: OTLPReceiver, store: TelemetryStore
) -> None:
    meters = meter_provider(receiver, "invoice-worker")
    meter = meters.get_meter("invoice_worker")
    meter.create_counter("invoice.create.failures", unit="{failure}").add(
        2, {"failure.reason": "gateway_timeout"}
    )
    meter.create_up_down_counter("invoice.jobs.in_flight", unit="{job}").add(
        -1, {"queue.name": "invoice-events"}
    )
    meter.create_gauge("outbox.pending", unit="{event}").set(7)
    assert meters.force_flush(10_000)

    points = {p.name: p for p in store.metric_points(service="invoice-worker")}
    failures, in_flight, pending = (
        points["invoice.create.failures"],
        points["invoice.jobs.in_flight"],
        points["outbox.pending"],
    )
    assert (failures.kind, failures.monotonic, failures.value) == ("sum", True, 2.0)
    assert (in_flight.kind, in_flight.monotonic, in_flight.value) == ("sum", False, -1.0)
    assert (pending.kind, pending.monotonic, pending.value, pending.unit) == ("gauge", None, 7.0, "{event}")
    assert store.metric_names() == ["invoice.create.failures", "invoice.jobs.in_flight", "outbox.pending"]
    meters.shutdown()


def test_logs_carry_body_severity_attributes_and_the_active_span(
    receiver: OTLPReceiver, store: TelemetryStore
) -> None:
    traces = tracer_provider(receiver, "payment")
    logs = LoggerProvider(resource=resource("payment"), shutdown_on_exit=False)
    logs.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{receiver.endpoint}/v1/logs"))
    )
    logger = logs.get_logger("payment.service")
    with traces.get_tracer("payment").start_as_current_span("payment.authorize") as span:
        logger.emit(
            severity_number=SeverityNumber.WARN,
            severity_text="WARNING",
            body="provider answered 429, retrying",
            attributes={"retry.attempt": 1, "region": "ap-south"},
        )
    logger.emit(severity_number=SeverityNumber.INFO, body={"event": "structured", "n": 2})
    assert logs.force_flush(10_000)

    first, second = store.logs(service="payment")
    assert (first.body, first.severity_text, first.severity_number) == (
        "provider answered 429, retrying",
        "WARNING",
        SeverityNumber.WARN.value,
    )
    assert first.attributes == {"retry.attempt": 1, "region": "ap-south"}
    assert first.trace_id == format(span.get_span_context().trace_id, "032x")
    assert first.span_id == format(span.get_span_context().span_id, "016x")
    assert first.scope_name == "payment.service" and first.time_unix_nano > 0
    assert second.trace_id is None and second.span_id is None
    assert second.body == '{"event": "structured", "n": 2}'  # a map body rendered as text
    assert store.logs(trace_id=first.trace_id) == [first]
    logs.shutdown()
    traces.shutdown()


def test_capture_of_real_exports_reloads_identically(
    receiver: OTLPReceiver, store: TelemetryStore, tmp_path: Path
) -> None:
    traces = tracer_provider(receiver, "invoice-worker", Compression.Gzip)
    meters = meter_provider(receiver, "invoice-worker")
    logs = LoggerProvider(resource=resource("invoice-worker"), shutdown_on_exit=False)
    logs.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{receiver.endpoint}/v1/logs"))
    )
    lag = meters.get_meter("invoice_worker").create_histogram("invoice.job.lag", unit="s")
    with traces.get_tracer("invoice_worker").start_as_current_span("invoice.create") as span:
        span.set_attributes({"invoice.status": "issued", "invoice.id": "inv-1"})
        lag.record(0.2, {"queue.name": "invoice-events"})
        logs.get_logger("invoice_worker").emit(severity_number=SeverityNumber.INFO, body="invoice issued")
    for provider in (traces, meters, logs):
        assert provider.force_flush(10_000)

    capture = tmp_path / "capture.jsonl"
    store.dump_capture(capture)
    lines = [json.loads(line) for line in capture.read_text().splitlines()]
    assert {line["signal"] for line in lines} == {"traces", "metrics", "logs"}
    exported_span = lines[[line["signal"] for line in lines].index("traces")]["otlp"]
    span_json = exported_span["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span_json["traceId"] == format(span.get_span_context().trace_id, "032x")  # hex, as OTLP/JSON says
    assert span_json["kind"] == 1  # enums as integers

    with TelemetryStore.from_capture(capture) as reloaded:
        assert reloaded.spans() == store.spans()
        assert reloaded.logs() == store.logs()
        assert reloaded.metric_points() == store.metric_points()
        assert reloaded.metric_points()[0].exemplars[0].trace_id == span_json["traceId"]
    for provider in (traces, meters, logs):
        provider.shutdown()
