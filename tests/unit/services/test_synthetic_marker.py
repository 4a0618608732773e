"""Synthetic traffic: baggage synthetic=true becomes user_agent.synthetic.type=test on entry spans only."""

from __future__ import annotations

from opentelemetry import baggage, context, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from wayfinder_common.synthetic import ATTRIBUTE, SyntheticTrafficMarker


def _tracer() -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SyntheticTrafficMarker())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def _incoming(baggage_value: str | None) -> context.Context:
    """The context a server extracts from a request sent by another process."""
    carrier = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    parent = TraceContextTextMapPropagator().extract(carrier)
    return baggage.set_baggage("synthetic", baggage_value, parent) if baggage_value else parent


def test_entry_span_of_synthetic_traffic_is_marked_and_its_children_are_not() -> None:
    tracer, exporter = _tracer()
    with (
        tracer.start_as_current_span("POST /checkout", context=_incoming("true")),
        tracer.start_as_current_span("checkout.place_order"),
    ):
        pass
    spans = {s.name: dict(s.attributes or {}) for s in exporter.get_finished_spans()}
    assert spans["POST /checkout"][ATTRIBUTE] == "test"
    assert ATTRIBUTE not in spans["checkout.place_order"]


def test_a_root_span_with_the_baggage_is_marked() -> None:
    tracer, exporter = _tracer()
    token = context.attach(baggage.set_baggage("synthetic", "true"))
    try:
        tracer.start_span("GET /products").end()
    finally:
        context.detach(token)
    assert exporter.get_finished_spans()[0].attributes == {ATTRIBUTE: "test"}


def test_other_baggage_values_and_no_baggage_leave_spans_unmarked() -> None:
    tracer, exporter = _tracer()
    for value in ("yes", "TRUE", "loadgen-eu-west-42", None):
        tracer.start_span("POST /checkout", context=_incoming(value)).end()
    assert [ATTRIBUTE in (s.attributes or {}) for s in exporter.get_finished_spans()] == [False] * 4
