"""OTLPReceiver: an OTLP/HTTP endpoint (POST /v1/traces, /v1/metrics, /v1/logs) into a store.

Plain `http.server`, so tests and `wayfinder` local mode need no collector. It answers
like a collector does (empty Export*ServiceResponse in the request's encoding) and keeps
connections alive, because the SDK exporters reuse one connection for every export.
An export is answered only once its rows are committed: when a service exits on SIGTERM,
its last flush is in the store by the time the service's process is gone.
GET /metrics serves the stored metrics as OpenMetrics (wayfinder.store.exposition) for local
mode's Prometheus; a forwarder, when given, gets every accepted export (wayfinder.store.forward).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import socketserver
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from wayfinder.store import openmetrics, otlp
from wayfinder.store.db import StoreBusy, TelemetryStore
from wayfinder.store.exposition import Exposition
from wayfinder.store.forward import OTLPForwarder
from wayfinder.store.http_body import BodyError, decompress, read_body
from wayfinder.store.retention import Pruner, Retention

log = logging.getLogger(__name__)

_PATHS = {f"/v1/{signal}": signal for signal in otlp.SIGNALS}
_TEXT = "text/plain; charset=utf-8"
_STOP_GRACE_SECONDS = 10.0
# How long one export may queue for the store before it is refused with 503 + Retry-After:
# well under the exporters' own timeout, so they retry instead of timing out and re-sending.
_INGEST_WAIT_SECONDS = 2.0
_RETRY_AFTER_SECONDS = 2
_BUSY_LOG_EVERY_SECONDS = 10.0


class _Server(ThreadingHTTPServer):
    """Counts requests in progress and remembers open connections, so `stop` can drain."""

    daemon_threads = True
    # Every service flushes at once when a test stops them all: do not refuse connections.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], store: TelemetryStore, forwarder: OTLPForwarder | None
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.store = store
        self.exposition = Exposition(store)
        self.forwarder = forwarder
        self.idle = threading.Condition()
        self.in_progress = 0
        self.connections: set[socket.socket] = set()
        self.pruner: Pruner | None = None
        self.ingest_wait_s = _INGEST_WAIT_SECONDS
        self.accepted = 0
        self.refused = 0
        self._last_busy_log = 0.0

    def count(self, accepted: bool) -> None:
        """Count an export; log (at most every few seconds) when the store refuses some."""
        with self.idle:
            if accepted:
                self.accepted += 1
                return
            self.refused += 1
            now = time.monotonic()
            if now - self._last_busy_log < _BUSY_LOG_EVERY_SECONDS:
                return
            self._last_busy_log = now
        log.warning(
            "telemetry store cannot keep up: %d exports refused with 503 + Retry-After so far",
            self.refused,
        )

    def status(self) -> dict[str, Any]:
        """What `wayfinder status` shows: exports taken and refused, size against the bound."""
        report = self.pruner.last if self.pruner else None
        retention = self.pruner.retention if self.pruner else None
        return {
            "exports_accepted": self.accepted,
            "exports_refused": self.refused,
            "used_bytes": report.used_bytes if report else None,
            "max_bytes": retention.max_bytes if retention else None,
            "max_age_s": retention.max_age_s if retention else None,
            "over_bound": bool(report and report.over_bound),
            "over_bound_reason": report.reason if report else "",
        }

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall for seconds
        # where reverse DNS is missing (CI containers); nothing here needs the name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.idle:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.idle:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drain(self, timeout: float) -> None:
        """Let requests in progress finish, then hang up on idle keep-alive connections."""
        with self.idle:
            self.idle.wait_for(lambda: self.in_progress == 0, timeout)
            for connection in self.connections:
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wayfinder-otlp"
    timeout = 120  # seconds an idle keep-alive connection may hold a thread
    server: _Server

    def do_GET(self) -> None:
        """Health check for scripts that wait for the receiver; /metrics for Prometheus;
        /status for `wayfinder status`."""
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._reply(200, b"ok", _TEXT)
        elif path == "/metrics":
            self._reply(200, self.server.exposition.render().encode(), openmetrics.CONTENT_TYPE)
        elif path == "/status":
            self._reply(200, json.dumps(self.server.status()).encode(), "application/json")
        else:
            self._reply(404, b"not found", _TEXT)

    def do_POST(self) -> None:
        """One OTLP export request."""
        with self.server.idle:
            self.server.in_progress += 1
        try:
            self._export()
        finally:
            with self.server.idle:
                self.server.in_progress -= 1
                self.server.idle.notify_all()

    def _export(self) -> None:
        try:
            body = read_body(
                self.rfile,
                self.headers.get("Content-Length"),
                self.headers.get("Transfer-Encoding"),
            )
        except BodyError as exc:
            # The rest of the body is still on the wire: this connection cannot be reused.
            self._reply(exc.status, str(exc).encode(), _TEXT, close=True)
            return
        signal = _PATHS.get(urlsplit(self.path).path)
        content_type = self.headers.get("Content-Type", "")
        if signal is None:
            self._reply(404, b"not found: POST /v1/traces, /v1/metrics or /v1/logs", _TEXT)
        elif otlp.media_type(content_type) not in (otlp.PROTOBUF, otlp.JSON):
            self._reply(415, b"use application/x-protobuf or application/json", _TEXT)
        else:
            self._ingest(signal, body, content_type)

    def _ingest(self, signal: str, body: bytes, content_type: str) -> None:
        try:
            payload = decompress(body, self.headers.get("Content-Encoding"))
            stored = self.server.store.ingest(signal, payload, content_type, self.server.ingest_wait_s)
        except StoreBusy:
            # OTLP/HTTP: 503 with Retry-After is retryable; the exporter backs off and resends.
            self.server.count(accepted=False)
            self._reply(503, b"telemetry store busy, retry", _TEXT, retry_after=_RETRY_AFTER_SECONDS)
        except BodyError as exc:
            self._reply(exc.status, str(exc).encode(), _TEXT)
        except (otlp.PayloadError, OverflowError) as exc:
            # OverflowError: a timestamp or integer SQLite cannot hold (over 2**63).
            self._reply(400, f"undecodable {signal} export: {exc}".encode(), _TEXT)
        except sqlite3.OperationalError as exc:
            # Locked or busy database: 503 makes the exporter retry instead of dropping data.
            log.warning("store unavailable for a %s export: %s", signal, exc)
            self.server.count(accepted=False)
            self._reply(503, b"telemetry store busy, retry", _TEXT, retry_after=_RETRY_AFTER_SECONDS)
        except Exception:
            log.exception("failed to store a %s export", signal)
            self._reply(500, b"internal error storing the export", _TEXT)
        else:
            log.debug("stored %d %s records", stored, signal)
            self.server.count(accepted=True)
            if self.server.forwarder is not None:
                self.server.forwarder.submit(urlsplit(self.path).path, body, dict(self.headers.items()))
            self._reply(200, otlp.empty_response(signal, content_type), content_type)

    def _reply(
        self,
        status: int,
        body: bytes,
        content_type: str,
        close: bool = False,
        retry_after: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # Exporters post every few hundred ms: per-request lines would drown the test output.
        log.debug("%s " + format, self.address_string(), *args)


class OTLPReceiver:
    """An OTLP/HTTP receiver writing into `store`; port 0 picks a free port."""

    def __init__(
        self,
        store: TelemetryStore,
        host: str = "127.0.0.1",
        port: int = 4318,
        forwarder: OTLPForwarder | None = None,
        retention: Retention | None = None,
        ingest_wait_s: float = _INGEST_WAIT_SECONDS,
    ) -> None:
        self.store = store
        self.forwarder = forwarder
        self.host = host
        self.retention = retention
        self.ingest_wait_s = ingest_wait_s
        self._requested_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> OTLPReceiver:
        """Bind and serve from a background thread; returns self."""
        if self._server is not None:
            raise RuntimeError("receiver already started")
        self._server = _Server((self.host, self._requested_port), self.store, self.forwarder)
        self._server.ingest_wait_s = self.ingest_wait_s
        if self.retention is not None:
            self._server.pruner = Pruner(self.store, self.retention).start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"otlp-receiver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("receiver not started")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The base URL for OTEL_EXPORTER_OTLP_ENDPOINT (signal paths get appended)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop accepting, let exports in progress finish (bounded), close the socket."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()
        if server.pruner is not None:
            server.pruner.stop()
        server.drain(_STOP_GRACE_SECONDS)
        server.server_close()
        if self.forwarder is not None:
            self.forwarder.close()
        self._server = self._thread = None

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
