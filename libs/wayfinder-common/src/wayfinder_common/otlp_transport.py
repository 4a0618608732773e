"""A lighter HTTP transport for the OTLP/HTTP exporters: one keep-alive http.client connection.

Profiled under the concurrency benchmark (docs/performance.md, "Fourth pass"), shipping a batch
cost more CPU than encoding it: the exporters' default transport is a `requests` session, which
looks for a `.netrc` file and proxy variables on every POST, merges cookies and hooks, then goes
through urllib3's pool. With local mode's 300 ms export delay the shop makes about two exports
per checkout. Measured one export at a time in one thread (thread CPU, same loopback endpoint):
a one-span export costs about 900 us through `requests`, 450 us through urllib3 and 150 us
through this transport.

Only plain `http://` endpoints that no proxy variable applies to get it (the collector in the
compose stack, the embedded store, a test's receiver); TLS, client certificates and proxies
keep the exporter's own transport, which knows them. Retries, back-off, `Retry-After` and
timeouts stay in the exporter: this class only sends one request and reports what happened,
as the exporter's transport interface asks.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.exporter.http.transport._base import BaseHTTPResult, BaseHTTPTransport

# What a lost or refused connection raises (timeouts, resets, a keep-alive connection the
# endpoint closed: RemoteDisconnected is a ConnectionResetError). The exporter retries those once
# at once, then with back-off; anything else (an answer that is not HTTP) is not retried.
_CONNECTION_ERRORS = (OSError, http.client.IncompleteRead)


@dataclass(frozen=True, slots=True)
class KeepAliveResult(BaseHTTPResult):
    body: bytes = b""
    header: Message | None = field(default=None, compare=False)

    def content(self) -> bytes:
        return self.body

    def headers(self) -> Mapping[str, str]:
        # email.message.Message looks names up case-insensitively, as the interface asks.
        return self.header if self.header is not None else {}  # type: ignore[return-value]


class KeepAliveTransport(BaseHTTPTransport):
    """POSTs over one persistent connection per endpoint host; reconnects after any failure."""

    def __init__(self) -> None:
        self._connections: dict[tuple[str, int], http.client.HTTPConnection] = {}
        # The SDK's processors already export one batch at a time; the lock keeps that true for
        # any other caller, as an http.client connection is not safe to share between threads.
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        data: bytes | None = None,
    ) -> BaseHTTPResult:
        parts = urlsplit(url)
        if parts.scheme != "http":
            # transport_for chose this transport for a plain-HTTP endpoint; never send a batch
            # meant for TLS in the clear, whatever resolved the URL differently.
            return KeepAliveResult(error=ValueError(f"{parts.scheme}:// is not sent by this transport"))
        host, port = parts.hostname or "localhost", parts.port or 80
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            connection = self._connections.get((host, port))
            if connection is None:
                connection = self._connections[(host, port)] = http.client.HTTPConnection(host, port)
            try:
                connection.timeout = timeout
                if connection.sock is not None:
                    connection.sock.settimeout(timeout)
                connection.request(method, target, body=data, headers=headers or {})
                response = connection.getresponse()
                body = response.read()
            except Exception as error:  # reported, as the SDK's own transports do, never raised
                connection.close()  # the next request connects afresh
                return KeepAliveResult(error=error)
            if response.will_close:
                connection.close()
            return KeepAliveResult(
                status_code=response.status, reason=response.reason, body=body, header=response.msg
            )

    def is_connection_error(self, exception: Exception | None) -> bool:
        return isinstance(exception, _CONNECTION_ERRORS)

    def close(self) -> None:
        # Without the lock: a request hanging on an endpoint that never answers must not hold
        # up shutdown. Shutting the socket down wakes that request with an error.
        for connection in list(self._connections.values()):
            sock = connection.sock  # read once: the request may drop it meanwhile
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._connections.clear()


def transport_for(endpoint: str) -> KeepAliveTransport | None:
    """This transport for a plain-HTTP endpoint no proxy applies to; None keeps the exporter's."""
    parts = urlsplit(endpoint)
    if parts.scheme != "http" or not parts.hostname:
        return None
    # The proxy variables as `requests` reads them (HTTP_PROXY, ALL_PROXY, NO_PROXY).
    proxies: dict[str, Any] = urllib.request.getproxies()
    if ("http" in proxies or "all" in proxies) and not urllib.request.proxy_bypass(parts.hostname):
        return None
    return KeepAliveTransport()
