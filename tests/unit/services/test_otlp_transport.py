"""The exporters' keep-alive transport, driven by the real OTLP exporter against real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wayfinder_common import telemetry
from wayfinder_common.otlp_transport import KeepAliveTransport, transport_for
from wayfinder_common.settings import ServiceSettings


class Receiver:
    """An OTLP/HTTP endpoint: records each request's body and client port; answers are scripted."""

    def __init__(
        self,
        answers: list[tuple[int, dict[str, str]]] | None = None,
        keep_alive: bool = True,
        hang_up_quietly: bool = False,
    ) -> None:
        self.bodies: list[bytes] = []
        self.hung_up = threading.Event()
        self.client_ports: list[int] = []
        self.answers = list(answers or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.client_ports.append(self.client_address[1])
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if hang_up_quietly:  # says nothing of closing, then closes: an idle timeout
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    receiver.hung_up.set()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"


@contextmanager
def serving(receiver: Receiver) -> Iterator[Receiver]:
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def spans() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("test").start_as_current_span("SELECT inventory.products"):
        pass
    return list(memory.get_finished_spans())


def exporter(url: str, timeout: float = 5) -> OTLPSpanExporter:
    return OTLPSpanExporter(endpoint=url, timeout=timeout, _transport=KeepAliveTransport())


def test_spans_arrive_as_otlp_protobuf_over_one_kept_connection(spans: list[ReadableSpan]) -> None:
    with serving(Receiver()) as receiver:
        out = exporter(receiver.url)
        assert out.export(spans) == SpanExportResult.SUCCESS
        assert out.export(spans) == SpanExportResult.SUCCESS
    request = ExportTraceServiceRequest.FromString(receiver.bodies[0])
    assert request.resource_spans[0].scope_spans[0].spans[0].name == "SELECT inventory.products"
    assert len(receiver.client_ports) == 2 and len(set(receiver.client_ports)) == 1


def test_a_closed_connection_is_opened_again_without_losing_the_batch(spans: list[ReadableSpan]) -> None:
    # An HTTP/1.0 endpoint closes the connection after every answer.
    with serving(Receiver(keep_alive=False)) as receiver:
        out = exporter(receiver.url)
        results = [out.export(spans) for _ in range(3)]
    assert results == [SpanExportResult.SUCCESS] * 3
    assert len(receiver.bodies) == 3 and len(set(receiver.client_ports)) == 3


def test_a_connection_the_endpoint_dropped_is_replaced_without_losing_the_batch(
    spans: list[ReadableSpan],
) -> None:
    with serving(Receiver(hang_up_quietly=True)) as receiver:
        out = exporter(receiver.url)
        assert out.export(spans) == SpanExportResult.SUCCESS
        assert receiver.hung_up.wait(5)
        assert out.export(spans) == SpanExportResult.SUCCESS
    assert len(receiver.bodies) == 2 and len(set(receiver.client_ports)) == 2


def test_retry_after_of_a_busy_endpoint_is_honoured(spans: list[ReadableSpan]) -> None:
    # The header's name in another case: the exporter looks it up as "retry-after". Asked to
    # wait 30 s with 5 s left, it gives up at once; without the header its own back-off (about
    # 1 s) would fit in the 5 s and the second try would succeed.
    with serving(Receiver(answers=[(503, {"RETRY-AFTER": "30"})])) as receiver:
        assert exporter(receiver.url, timeout=5).export(spans) == SpanExportResult.FAILURE
    assert len(receiver.bodies) == 1
    with serving(Receiver(answers=[(503, {"Retry-After": "0"})])) as receiver:
        assert exporter(receiver.url).export(spans) == SpanExportResult.SUCCESS
    assert len(receiver.bodies) == 2


def test_a_rejected_batch_is_a_failure_not_retried(spans: list[ReadableSpan]) -> None:
    with serving(Receiver(answers=[(400, {})])) as receiver:
        assert exporter(receiver.url).export(spans) == SpanExportResult.FAILURE
    assert len(receiver.bodies) == 1


def test_nothing_listening_fails_within_the_exporters_timeout(spans: list[ReadableSpan]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1/traces"
    transport = KeepAliveTransport()
    failed = transport.request("POST", url, data=b"", timeout=1)
    assert failed.error is not None and transport.is_connection_error(failed.error)
    started = time.monotonic()
    assert exporter(url, timeout=0.5).export(spans) == SpanExportResult.FAILURE
    assert time.monotonic() - started < 5


def test_an_endpoint_that_never_answers_times_out(spans: list[ReadableSpan]) -> None:
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(8)  # accepted by the kernel, never read, never answered
        url = f"http://127.0.0.1:{hole.getsockname()[1]}/v1/traces"
        transport = KeepAliveTransport()
        started = time.monotonic()
        result = transport.request("POST", url, data=b"x", timeout=0.3)
        assert result.error is not None and transport.is_connection_error(result.error)
        assert 0.25 < time.monotonic() - started < 5
        assert exporter(url, timeout=0.3).export(spans) == SpanExportResult.FAILURE


def test_a_url_meant_for_tls_is_never_sent_in_the_clear() -> None:
    result = KeepAliveTransport().request("POST", "https://127.0.0.1:1/v1/traces", data=b"x", timeout=1)
    assert isinstance(result.error, ValueError) and result.status_code is None


def test_closing_wakes_a_request_hanging_on_an_endpoint_that_never_answers() -> None:
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(8)
        url = f"http://127.0.0.1:{hole.getsockname()[1]}/v1/traces"
        transport = KeepAliveTransport()
        results = []
        request = threading.Thread(
            target=lambda: results.append(transport.request("POST", url, data=b"x", timeout=30))
        )
        request.start()
        deadline = time.monotonic() + 5
        while not transport._connections and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        transport.close()
        request.join(10)
        assert not request.is_alive() and time.monotonic() - started < 10
        assert results[0].error is not None


def test_only_plain_http_endpoints_without_a_proxy_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(transport_for("http://otel-collector:4318"), KeepAliveTransport)
    assert transport_for("https://collector.example.com:4318") is None
    monkeypatch.setenv("ALL_PROXY", "http://proxy.example.com:3128")
    assert transport_for("http://otel-collector:4318") is None
    monkeypatch.delenv("ALL_PROXY")
    monkeypatch.setenv("http_proxy", "http://proxy.example.com:3128")
    assert transport_for("http://otel-collector:4318") is None
    monkeypatch.setenv("no_proxy", "otel-collector")
    assert isinstance(transport_for("http://otel-collector:4318"), KeepAliveTransport)


def test_each_signal_goes_where_the_sdk_sends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    assert ServiceSettings().otlp_endpoint("logs") == "http://localhost:4318"  # the SDK's default
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example.com")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://127.0.0.1:4318/v1/logs")
    settings = ServiceSettings()
    assert settings.otlp_endpoint("traces") == "https://collector.example.com"
    assert settings.otlp_endpoint("logs") == "http://127.0.0.1:4318/v1/logs"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")  # empty: the SDK's default again
    assert ServiceSettings().otlp_endpoint("traces") == "http://localhost:4318"


def test_a_credential_provider_keeps_the_exporters_own_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(telemetry._exporter_transport(ServiceSettings(), "traces"), KeepAliveTransport)
    monkeypatch.setenv("OTEL_PYTHON_EXPORTER_OTLP_HTTP_TRACES_CREDENTIAL_PROVIDER", "vault")
    assert telemetry._exporter_transport(ServiceSettings(), "traces") is None
    assert isinstance(telemetry._exporter_transport(ServiceSettings(), "logs"), KeepAliveTransport)
