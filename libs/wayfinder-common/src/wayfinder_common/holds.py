"""Hold points: a generic test hook that parks a process at a named point, so a chaos test can
kill something exactly there (mid-job, right after a publish, mid-transaction) instead of
hoping a timer hits the moment.

Off unless `hold_dir` is set (production leaves it empty). A test arms a point by creating
`<hold_dir>/<point>.arm`; the first process to reach it renames that to `<point>.held` (a
rename succeeds once, so exactly one process holds), then waits until the test deletes the
`.held` file or `hold_s` passes, and carries on.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from wayfinder_common.settings import ServiceSettings

log = logging.getLogger(__name__)


class HoldSettings(ServiceSettings):
    """Settings of a service with hold points; an empty `hold_dir` (the default) turns them off."""

    hold_dir: str = ""
    hold_s: float = 30.0


def hold(settings: HoldSettings, point: str) -> None:
    """Park here while the test holds `point`, if it armed it and nobody took it first."""
    if not settings.hold_dir:
        return
    armed = Path(settings.hold_dir) / f"{point}.arm"
    held = armed.with_suffix(".held")
    try:
        # Atomic: exactly one process wins, and `.held` appears complete (the test may delete
        # it the moment it sees it, so nothing is written to it afterwards).
        os.rename(armed, held)
    except FileNotFoundError:
        return
    log.warning("holding at a test hold point")
    deadline = time.monotonic() + settings.hold_s
    while held.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
