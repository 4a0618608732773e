"""WAYFINDER_OTLP_FORWARD: the store sends every accepted export on to a second OTLP receiver."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.sdk.trace import TracerProvider
from wayfinder.store import OTLPReceiver, TelemetryStore
from wayfinder.store.forward import OTLPForwarder

from tests.support import free_port
from tests.unit.store.test_store_receiver_sdk import meter_provider, tracer_provider

Poll = Callable[..., object]


@pytest.fixture
def team_collector() -> Iterator[tuple[OTLPReceiver, TelemetryStore]]:
    """The second receiver: what a team's collector would be."""
    with TelemetryStore(":memory:") as store, OTLPReceiver(store, port=0) as receiver:
        yield receiver, store


def test_every_export_reaches_the_second_receiver_as_received(
    team_collector: tuple[OTLPReceiver, TelemetryStore], wait_for: Poll
) -> None:
    collector, forwarded = team_collector
    with (
        TelemetryStore(":memory:") as local,
        OTLPReceiver(local, port=0, forwarder=OTLPForwarder(collector.endpoint)) as receiver,
    ):
        tracer = tracer_provider(receiver, "checkout-api", Compression.Gzip)
        with tracer.get_tracer("t").start_as_current_span("checkout.place_order") as span:
            span.set_attribute("region", "eu-west")
        assert tracer.force_flush(10_000)
        meters = meter_provider(receiver, "payment")
        meters.get_meter("payment").create_counter("payment.authorizations").add(2, {"region": "eu-west"})
        assert meters.force_flush(10_000)

        # The local store has it at once; the copy arrives asynchronously.
        assert [s.name for s in local.spans()] == ["checkout.place_order"]
        forwarder = receiver.forwarder
        assert forwarder is not None
        # Counted once the second receiver answered, which is after it stored the rows.
        wait_for(lambda: forwarder.stats.forwarded == 2, "both exports forwarded")
        assert forwarded.spans() == local.spans()
        assert forwarded.metric_points() == local.metric_points()
        tracer.shutdown()
        meters.shutdown()


def test_a_full_queue_drops_counts_and_logs_without_blocking(caplog: pytest.LogCaptureFixture) -> None:
    entered, release = threading.Event(), threading.Event()
    received: list[tuple[str, bytes, str]] = []

    def slow_collector(request: httpx.Request) -> httpx.Response:
        entered.set()
        release.wait(10)
        received.append((request.url.path, request.content, request.headers["content-encoding"]))
        return httpx.Response(200)

    client = httpx.Client(transport=httpx.MockTransport(slow_collector))
    forwarder = OTLPForwarder("http://collector.invalid:4318/", queue_size=2, client=client)
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", "Host": "x"}
    with caplog.at_level(logging.WARNING, logger="wayfinder.store.forward"):
        assert forwarder.submit("/v1/traces", b"first", headers)
        assert entered.wait(10)  # the sender holds the first export; the queue is empty again
        accepted = [forwarder.submit("/v1/metrics", bytes([n]), headers) for n in range(9)]
    assert accepted == [True, True] + [False] * 7
    assert forwarder.stats.dropped == 7
    assert "1 exports dropped so far (queue full)" in caplog.text
    release.set()
    forwarder.close()
    assert forwarder.stats.forwarded == 3
    assert received == [
        ("/v1/traces", b"first", "gzip"),
        ("/v1/metrics", b"\x00", "gzip"),
        ("/v1/metrics", b"\x01", "gzip"),
    ]


def test_an_unreachable_endpoint_leaves_the_store_working(wait_for: Poll) -> None:
    forwarder = OTLPForwarder(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with TelemetryStore(":memory:") as local, OTLPReceiver(local, port=0, forwarder=forwarder) as receiver:
        tracer: TracerProvider = tracer_provider(receiver, "inventory")
        with tracer.get_tracer("t").start_as_current_span("inventory.reserve"):
            pass
        assert tracer.force_flush(10_000)
        assert [s.name for s in local.spans()] == ["inventory.reserve"]
        wait_for(lambda: forwarder.stats.failed == 1, "the failed forward to be counted")
        assert httpx.get(f"{receiver.endpoint}/metrics").status_code == 200
        tracer.shutdown()
