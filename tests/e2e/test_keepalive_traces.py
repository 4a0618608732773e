"""Keep-alive connections with impatient clients: every request still starts its own trace.

A request that arrives while the previous one on its connection is unfinished (an impatient
client's retry, sent on the same connection after 50 ms) makes uvicorn pause reading, then
resume it and start the queued request from inside the finished request's task. asyncio
re-registers the socket reader with a copy of that task's context (python/cpython#140947), so
without a fresh context per request every later request on the connection inherited the old
server span: INTERNAL spans, one trace per connection instead of one per checkout.
"""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.conftest import CARD_TOKEN, EMAIL, Shop
from tests.support import poll_until

ROUTE_SPAN = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S*$")
PATIENT_S = 30.0
IMPATIENT_S = 0.05  # the load test's impatient clients give up after 50 ms
CLIENTS = 6
JOURNEYS = 2


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class KeepAliveClient:
    """One HTTP/1.1 connection, reused for every request; a timed-out read keeps its bytes."""

    host: str
    port: int
    sock: socket.socket = field(init=False)
    buffer: bytes = b""
    sent: int = 0

    def __post_init__(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=PATIENT_S)

    @property
    def local_port(self) -> int:
        return int(self.sock.getsockname()[1])

    def send(self, method: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}", "", ""]
        self.sock.sendall("\r\n".join(lines).encode() + payload)
        self.sent += 1

    def _fill(self, timeout_s: float) -> None:
        self.sock.settimeout(timeout_s)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the keep-alive connection")
        self.buffer += chunk

    def read(self, timeout_s: float = PATIENT_S) -> Response:
        """The next response; raises TimeoutError (data kept for the next read) when impatient."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill(timeout_s)
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")[1:]
            if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length:
            self._fill(timeout_s)
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        return Response(status, rest[:length])

    def close(self) -> None:
        self.sock.close()


def _journeys(shop: Shop, impatient: bool) -> tuple[int, int, int]:
    """Browse, check out (an impatient client retries on the same connection), read the order."""
    url = urlsplit(shop.url)
    client = KeepAliveClient(url.hostname or "127.0.0.1", url.port or 80)
    retries = 0
    try:
        for _ in range(JOURNEYS):
            client.send("GET", "/products")
            assert client.read().status == 200
            key = f"e2e-keepalive-{uuid.uuid4()}"
            order = {
                "account_id": "acct-0001",
                "email": EMAIL,
                # ap-south: the provider's latency alone (>= 60 ms) outlasts the impatient client.
                "region": "ap-south",
                "items": [{"sku": "SKU-MUG", "quantity": 1}],
                "payment": {"card_token": CARD_TOKEN},
            }
            client.send("POST", "/checkout", order, Idempotency_Key=key)
            try:
                placed = client.read(IMPATIENT_S if impatient else PATIENT_S)
            except TimeoutError:
                retries += 1
                client.send("POST", "/checkout", order, Idempotency_Key=key)
                placed = client.read()
                # The retry: 409 while the first attempt runs, or the first attempt's replay.
                assert client.read().status in {201, 409}
            assert placed.status == 201, placed.body
            client.send("GET", f"/orders/{placed.json()['order_id']}")
            assert client.read().status == 200
        return client.local_port, client.sent, retries
    finally:
        client.close()


def test_keepalive_requests_with_impatient_retries_each_start_their_own_trace(shop: Shop) -> None:
    # Ports are reused: an earlier test's connection may have had one of ours, so only spans
    # that started after this test began count (while our sockets are open, no other
    # connection to checkout-api can hold their ports).
    since = time.time_ns()
    with ThreadPoolExecutor(CLIENTS) as pool:
        runs = list(pool.map(lambda i: _journeys(shop, impatient=i % 2 == 0), range(CLIENTS)))
    ports = {port for port, _, _ in runs}
    expected = sum(sent for _, sent, _ in runs)
    assert sum(retries for _, _, retries in runs) > 0, "no impatient client timed out: nothing pipelined"

    def route_spans() -> list[Any] | None:
        spans = [
            s
            for s in shop.store.spans(service="checkout-api", since_unix_nano=since)
            if ROUTE_SPAN.match(s.name) and s.attributes.get("client.port") in ports
        ]
        return spans if len(spans) >= expected else None

    spans = poll_until(route_spans, f"{expected} checkout-api request spans", 60)
    assert len(spans) == expected
    # Our clients send no traceparent: every request's span is SERVER and a root of its own.
    wrong = [(s.name, s.kind, s.parent_span_id) for s in spans if s.kind != "SERVER" or s.parent_span_id]
    assert wrong == []
    checkouts: dict[str, int] = {}
    for span in spans:
        if span.name == "POST /checkout":
            checkouts[span.trace_id] = checkouts.get(span.trace_id, 0) + 1
    assert max(checkouts.values()) == 1
    assert len(checkouts) == sum(JOURNEYS + retries for _, _, retries in runs)
