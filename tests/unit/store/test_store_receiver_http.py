"""The receiver's HTTP contract: OTLP/JSON bodies, gzip, error answers, concurrency, big batches."""

from __future__ import annotations

import gzip
import json
import threading
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from wayfinder.store import OTLPReceiver, TelemetryStore

TRACE_ID = "5b8efff798038103d269b633813fc60c"
JSON_HEADERS = {"Content-Type": "application/json"}


def kv(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def json_traces(trace_id: str = TRACE_ID) -> dict[str, Any]:
    """An export request written by hand the way the OTLP/JSON spec spells it."""
    provider = {"name": {"stringValue": "acme"}}
    codes = {"arrayValue": {"values": [{"intValue": 429}, {"doubleValue": 1.5}]}}
    span = {
        "traceId": trace_id,
        "spanId": "eee19b7ec3c1b174",
        "parentSpanId": "eee19b7ec3c1b173",
        "name": "payment.authorize",
        "kind": 1,  # enum as an integer...
        "startTimeUnixNano": "1544712660000000000",  # int64 as a string
        "endTimeUnixNano": "1544712661000000000",
        "status": {"code": "STATUS_CODE_ERROR"},  # ...or as its name
        "attributes": [
            kv("retry.attempt", {"intValue": "2"}),
            kv("payment.outcome", {"stringValue": "unavailable"}),
            kv("card.fingerprint", {"bytesValue": "3q2+7w=="}),  # bytes stay base64 in OTLP/JSON
            kv(
                "provider",
                {"kvlistValue": {"values": [kv(k, v) for k, v in provider.items()] + [kv("codes", codes)]}},
            ),
        ],
    }
    resource = {"attributes": [kv("service.name", {"stringValue": "payment"})]}
    return {
        "resourceSpans": [
            {"resource": resource, "scopeSpans": [{"scope": {"name": "payment"}, "spans": [span]}]}
        ]
    }


def post(receiver: OTLPReceiver, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{receiver.endpoint}{path}", content=body, headers=headers, timeout=10)


def test_hand_written_otlp_json_is_decoded_and_answered_in_json(
    receiver: OTLPReceiver, store: TelemetryStore
) -> None:
    response = post(receiver, "/v1/traces", json.dumps(json_traces()).encode(), JSON_HEADERS)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    (span,) = store.spans()
    assert (span.trace_id, span.span_id) == (TRACE_ID, "eee19b7ec3c1b174")
    assert span.parent_span_id == "eee19b7ec3c1b173"
    assert (span.kind, span.status_code, span.service_name) == ("INTERNAL", "ERROR", "payment")
    assert (span.start_unix_nano, span.duration_ms) == (1544712660000000000, 1000.0)
    assert span.attributes == {
        "retry.attempt": 2,
        "payment.outcome": "unavailable",
        "card.fingerprint": "deadbeef",  # bytes become hex
        "provider": {"name": "acme", "codes": [429, 1.5]},
    }


def test_gzip_json_and_protobuf_answers_use_the_request_encoding(
    receiver: OTLPReceiver, store: TelemetryStore
) -> None:
    body = gzip.compress(json.dumps(json_traces()).encode())
    gzipped = post(receiver, "/v1/traces", body, {**JSON_HEADERS, "Content-Encoding": "gzip"})
    assert gzipped.status_code == 200 and len(store.spans()) == 1

    empty = post(receiver, "/v1/traces", b"", {"Content-Type": "application/x-protobuf"})
    assert empty.status_code == 200
    assert empty.headers["content-type"] == "application/x-protobuf"
    assert ExportTraceServiceResponse.FromString(empty.content) == ExportTraceServiceResponse()


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        ("/v1/traces", b"\xff\x00garbage", {"Content-Type": "application/x-protobuf"}, 400),
        ("/v1/traces", b"{not json", JSON_HEADERS, 400),
        ("/v1/traces", b"[1, 2]", JSON_HEADERS, 400),
        ("/v1/metrics", b'{"resourceMetrics": 7}', JSON_HEADERS, 400),
        ("/v1/logs", b"not gzip", {**JSON_HEADERS, "Content-Encoding": "gzip"}, 400),
        ("/v1/traces", b"{}", {"Content-Type": "text/plain"}, 415),
        ("/v1/traces", b"{}", {**JSON_HEADERS, "Content-Encoding": "br"}, 415),
        ("/v1/profiles", b"{}", JSON_HEADERS, 404),
        ("/", b"{}", JSON_HEADERS, 404),
    ],
)
def test_bad_requests_get_a_short_error_and_store_nothing(
    receiver: OTLPReceiver,
    store: TelemetryStore,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
) -> None:
    response = post(receiver, path, body, headers)

    assert response.status_code == status
    assert 0 < len(response.text) < 300
    assert store.spans() == [] and store.logs() == [] and store.metric_points() == []


def test_health_check_and_unknown_gets() -> None:
    with TelemetryStore(":memory:") as store, OTLPReceiver(store, port=0) as receiver:
        assert receiver.endpoint == f"http://127.0.0.1:{receiver.port}"
        health = httpx.get(f"{receiver.endpoint}/healthz", timeout=10)
        assert (health.status_code, health.text) == (200, "ok")
        assert httpx.get(f"{receiver.endpoint}/v1/traces", timeout=10).status_code == 404


def test_one_kept_alive_connection_survives_an_error_answer(
    receiver: OTLPReceiver, store: TelemetryStore
) -> None:
    with httpx.Client(base_url=receiver.endpoint, timeout=10) as client:
        assert client.post("/v1/traces", content=b"{oops", headers=JSON_HEADERS).status_code == 400
        ok = client.post("/v1/traces", content=json.dumps(json_traces()).encode(), headers=JSON_HEADERS)
        assert ok.status_code == 200
    assert len(store.spans()) == 1


def test_concurrent_exporters_and_a_multi_megabyte_batch_lose_nothing(
    receiver: OTLPReceiver, store: TelemetryStore
) -> None:
    exporters, spans_each = 8, 300
    padding = "x" * 1000  # ~1 kB per span: the big batch below is several MB on the wire

    def export(worker: int, count: int, batch_size: int) -> None:
        service = Resource.create({"service.name": f"svc-{worker}"})
        provider = TracerProvider(resource=service, shutdown_on_exit=False)
        exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")
        provider.add_span_processor(
            BatchSpanProcessor(exporter, max_queue_size=count, max_export_batch_size=batch_size)
        )
        tracer = provider.get_tracer("load")
        for n in range(count):
            with tracer.start_as_current_span("inventory.reserve") as span:
                span.set_attributes({"n": n, "padding": padding})
        assert provider.force_flush(30_000)
        provider.shutdown()

    threads = [threading.Thread(target=export, args=(w, spans_each, 50)) for w in range(exporters)]
    for thread in threads:
        thread.start()
    export(exporters, 5000, 5000)  # one request of ~5 MB
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "an exporter thread never finished"

    for worker in range(exporters):
        assert len(store.spans(service=f"svc-{worker}")) == spans_each, f"svc-{worker} lost spans"
    assert len(store.spans(service=f"svc-{exporters}")) == 5000
