"""Waiting with a deadline: every wait says what it waited for, and where to look if it failed."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(check: Callable[[], bool], what: str, timeout_s: float, hint: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    suffix = f" ({hint})" if hint else ""
    raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}{suffix}")
