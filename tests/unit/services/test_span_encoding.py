"""Our in-place span encoder against the SDK's, byte for byte, on every kind of span the SDK makes."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.exporter.otlp.proto.http import trace_exporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from wayfinder_common.span_encoding import encode_spans
from wayfinder_common.telemetry import HashedOnceResource, encode_spans_in_place


def spans_of_every_shape() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    checkout = TracerProvider(
        resource=HashedOnceResource.of(Resource.create({"service.name": "checkout-api"}))
    )
    payment = TracerProvider(
        resource=Resource.create(
            {"service.name": "payment", "cloud.region": "eu-west"}, "https://example.com/s"
        )
    )
    for provider in (checkout, payment):
        provider.add_span_processor(SimpleSpanProcessor(memory))
    remote = SpanContext(
        0x4BF92F3577B34DA6A3CE929D0E0E4736,
        0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "abc"), ("other", "1")]),
    )
    server = checkout.get_tracer("opentelemetry.instrumentation.asgi", "0.66b1", "https://example.com/schema")
    with server.start_as_current_span(
        "POST /checkout",
        context=trace.set_span_in_context(trace.NonRecordingSpan(remote)),
        kind=SpanKind.SERVER,
    ) as root:
        root.set_attributes(
            {
                "http.route": "/checkout",
                "http.response.status_code": 201,
                "retry.ratio": 0.5,
                "synthetic": False,
            }
        )
        root.set_attribute("items.skus", ["SKU-MUG", "SKU-BOOK"])
        root.set_attribute("counts", [1, 2])
        root.set_attribute("flags", [True, False])
        root.set_attribute("bytes", b"\x01\x02")  # type: ignore[arg-type]  # what a careless library does
        root.set_attribute("too.big", 2**63 + 5)  # accepted by the API; no OTLP int holds it
        business = checkout.get_tracer("checkout_api")
        with business.start_as_current_span(
            "checkout.place_order", links=[Link(remote, {"link.kind": "retry"})]
        ):
            with business.start_as_current_span("SELECT checkout.idempotency_keys", kind=SpanKind.CLIENT):
                pass
            try:
                with business.start_as_current_span("inventory.reserve"):
                    raise RuntimeError("out of stock")
            except RuntimeError:
                pass
        with business.start_as_current_span("payment.declined") as declined:
            declined.set_status(Status(StatusCode.ERROR, "card_declined"))
            declined.add_event("provider.answer", {"http.response.status_code": 402})
    authorize = payment.get_tracer("payment").start_as_current_span(
        "payment.authorize", kind=SpanKind.INTERNAL
    )
    call = checkout.get_tracer("opentelemetry.instrumentation.httpx").start_as_current_span(
        "POST", kind=SpanKind.CLIENT
    )
    with authorize, call:
        pass
    with checkout.get_tracer("careless").start_as_current_span(None):  # type: ignore[arg-type]
        pass
    return list(memory.get_finished_spans())


def test_the_request_is_the_sdks_byte_for_byte() -> None:
    spans = spans_of_every_shape()
    ours = encode_spans(spans).SerializeToString(deterministic=True)
    assert ours == sdk_encode_spans(spans).SerializeToString(deterministic=True)
    request = encode_spans(spans)
    assert len(request.resource_spans) == 2
    assert [len(resource.scope_spans) for resource in request.resource_spans] == [4, 1]


def test_a_batch_of_one_and_an_empty_batch_match_too() -> None:
    spans = spans_of_every_shape()
    for batch in ([], spans[:1], spans[-1:]):
        assert encode_spans(batch).SerializeToString(deterministic=True) == sdk_encode_spans(
            batch
        ).SerializeToString(deterministic=True)


def test_the_otlp_exporter_encodes_with_it_once_set_up() -> None:
    original = trace_exporter.encode_spans
    try:
        encode_spans_in_place()
        assert trace_exporter.encode_spans is encode_spans
    finally:
        trace_exporter.encode_spans = original
