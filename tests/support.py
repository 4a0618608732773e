"""Test helpers: free ports (from local mode), polling with a deadline, the shop's metric names."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

from wayfinder.local.config import free_port

__all__ = ["SHOP_METRICS", "free_port", "missing_tool", "poll_until"]

T = TypeVar("T")

# The metrics the shop's own code defines (the article's table, applied): the end-to-end test
# waits until each is exported, the stack test requires each on a dashboard.
SHOP_METRICS = (
    "checkout.request.duration",
    "payment.provider.request.duration",
    "payment.provider.retries",
    "payment.provider.retry_budget.exhausted",
    "payment.authorizations",
    "inventory.lock.wait.duration",
    "invoice.create.duration",
    "invoice.create.failures",
    "invoice.gateway.retries",
    "invoice.missing",
    "invoice.dead_letters",
    "outbox.republications",
    "invoice.job.lag",
    "invoice.jobs.in_flight",
    "outbox.pending",
)


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


def missing_tool(reason: str) -> None:
    """Skip on a developer's machine that lacks a checker; FAIL in CI, which installs them all,
    so a green CI can never mean "the check did not run"."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must install it: see .ci/run)")
    pytest.skip(reason)
