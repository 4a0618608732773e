"""Forwarding: every export the store accepted, sent on unchanged to one more OTLP/HTTP endpoint.

A user keeps local mode's terminal tools and sends the same data to their team's collector.
The receiver hands over each accepted request body as it arrived (same path, content type
and content encoding); one background thread posts them in order. The queue is bounded and
`submit` never waits: when the other end is slow or down, the store, the local Prometheus
and the navigator carry on and the surplus is dropped, counted and logged.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
_LOG_EVERY = 100  # after the first loss, one log line per this many more
_FORWARDED_HEADERS = ("Content-Type", "Content-Encoding")


@dataclass(frozen=True)
class _Export:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class ForwardStats:
    forwarded: int = 0
    dropped: int = 0  # the queue was full
    failed: int = 0  # the endpoint refused or could not be reached


class OTLPForwarder:
    """Posts accepted exports to `endpoint` (a base URL like OTEL_EXPORTER_OTLP_ENDPOINT)."""

    def __init__(
        self,
        endpoint: str,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        timeout_s: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.stats = ForwardStats()
        self._queue: queue.Queue[_Export | None] = queue.Queue(maxsize=queue_size)
        self._client = client or httpx.Client(timeout=timeout_s)
        self._stats_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="otlp-forwarder", daemon=True)
        self._thread.start()

    def submit(self, path: str, body: bytes, headers: dict[str, str]) -> bool:
        """Queue one export; False (and counted) when the queue is full. Never blocks."""
        kept = {k: v for k, v in headers.items() if k.title() in _FORWARDED_HEADERS}
        try:
            self._queue.put_nowait(_Export(path, body, kept))
        except queue.Full:
            self._count_loss("dropped", "queue full")
            return False
        return True

    def _run(self) -> None:
        while True:
            export = self._queue.get()
            try:
                if export is None:
                    return
                self._send(export)
            finally:
                self._queue.task_done()

    def _send(self, export: _Export) -> None:
        url = f"{self.endpoint}{export.path}"
        try:
            response = self._client.post(url, content=export.body, headers=export.headers)
        except httpx.HTTPError as exc:
            self._count_loss("failed", f"{url}: {exc}")
            return
        if response.status_code >= 300:
            self._count_loss("failed", f"{url} answered {response.status_code}")
            return
        with self._stats_lock:
            self.stats.forwarded += 1

    def _count_loss(self, kind: str, reason: str) -> None:
        with self._stats_lock:
            total = getattr(self.stats, kind) + 1
            setattr(self.stats, kind, total)
        if total == 1 or total % _LOG_EVERY == 0:
            log.warning(
                "OTLP forwarding to %s: %d exports %s so far (%s)", self.endpoint, total, kind, reason
            )

    def close(self, timeout_s: float = 5.0) -> None:
        """Send what is queued (bounded by `timeout_s`), then stop the thread."""
        # Full: the thread is stuck on a slow endpoint; it is a daemon, let it go.
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout_s)
        self._thread.join(timeout_s)
        self._client.close()
        if self.stats.dropped or self.stats.failed:
            log.warning("OTLP forwarding to %s: %s", self.endpoint, self.stats)
