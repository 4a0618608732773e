"""Hold points: a generic test hook that parks a process at a named point, once, so a chaos test
can kill it exactly there (mid-job, right after a publish, mid-transaction) instead of by timing.

Off unless `hold_points` names the point. The first process to reach an armed point creates
`<hold_dir>/<point>.held` (exclusively, so only one holds), then waits `hold_s` and carries on.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from wayfinder_common.settings import ServiceSettings

log = logging.getLogger(__name__)


class HoldSettings(ServiceSettings):
    """Settings of a service that has hold points; empty `hold_points` (the default) is production."""

    hold_points: str = ""  # comma-separated point names, e.g. "invoice.before_save"
    hold_dir: str = "/tmp"
    hold_s: float = 10.0


def hold(settings: HoldSettings, point: str) -> None:
    """Park here for `hold_s` if `point` is armed and no process has held at it yet."""
    if point not in {p.strip() for p in settings.hold_points.split(",") if p.strip()}:
        return
    marker = Path(settings.hold_dir) / f"{point}.held"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(str(os.getpid()))
    log.warning(f"holding at test point {point}")
    time.sleep(settings.hold_s)
