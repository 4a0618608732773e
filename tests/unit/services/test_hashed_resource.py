"""The services' resource hashes once and still groups and compares like the SDK's."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk import resources
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wayfinder_common.telemetry import HashedOnceResource


def test_it_equals_and_hashes_as_the_resource_it_was_made_of(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = Resource.create(
        {"service.name": "inventory", "cloud.region": "eu-west"}, "https://opentelemetry.io/schemas/1.37.0"
    )
    hashed = HashedOnceResource.of(plain)
    assert hashed == plain and hash(hashed) == hash(plain)
    assert dict(hashed.attributes) == dict(plain.attributes) and hashed.schema_url == plain.schema_url

    def no_more_serialising(*args: object, **kwargs: object) -> str:
        raise AssertionError("hashed again")

    monkeypatch.setattr(resources, "dumps", no_more_serialising)
    assert hash(hashed) == hash(hashed)
    with pytest.raises(AssertionError, match="hashed again"):
        hash(plain)


def test_a_batch_of_its_spans_is_encoded_under_one_resource() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=HashedOnceResource.of(Resource.create({"service.name": "payment"})))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for name in ("payment.authorize", "POST", "UPDATE payment.authorizations"):
        with provider.get_tracer("test").start_as_current_span(name):
            pass
    request = encode_spans(memory.get_finished_spans())
    assert len(request.resource_spans) == 1
    assert [span.name for span in request.resource_spans[0].scope_spans[0].spans] == [
        "payment.authorize",
        "POST",
        "UPDATE payment.authorizations",
    ]
