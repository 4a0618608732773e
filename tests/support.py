"""Test helpers: free ports, polling with a deadline, and a running shop for end-to-end tests."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# The metrics the shop's own code defines (the article's table, applied): the end-to-end test
# waits until each is exported, the stack test requires each on a dashboard.
SHOP_METRICS = (
    "checkout.request.duration",
    "payment.provider.request.duration",
    "payment.provider.retries",
    "payment.authorizations",
    "invoice.create.duration",
    "invoice.create.failures",
    "invoice.job.lag",
    "invoice.jobs.in_flight",
    "outbox.pending",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll_until(check: Callable[[], T | None], description: str, timeout_s: float = 30.0) -> T:
    """Call `check` until it returns something truthy; fail naming what we waited for."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {description} (last: {last!r})")
