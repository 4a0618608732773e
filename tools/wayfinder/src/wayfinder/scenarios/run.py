"""A run's records in the state folder, all sealed with the token: the spec and the timeline."""

from __future__ import annotations

import os
import time
from typing import Any, Literal

from pydantic import BaseModel
from wayfinder_common.faultstate import read_state, unseal, write_sealed

from wayfinder.scenarios.model import LoadProfile
from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.timeline import Switch

__all__ = ["RunSpec", "TimelineEntry", "read_state"]


class RunSpec(BaseModel):
    """What the runner needs: written by `scenario start`, read by the runner and `status --reveal`."""

    scenario: str
    seed: int
    speed: float
    started_at: float
    duration_s: float
    plan: list[Switch]
    load: LoadProfile
    local_config: dict[str, Any]
    # Where the components are: local mode's processes, or the compose stack of this checkout.
    mode: Literal["local", "compose"] = "local"
    project_dir: str | None = None
    # Where the load goes: compose publishes checkout-api on CHECKOUT_API_PORT, not local mode's.
    checkout_url: str | None = None


class TimelineEntry(BaseModel):
    at: float  # unix time
    t_s: float  # seconds since the start
    what: str
    detail: dict[str, Any] = {}


def write_spec(paths: StatePaths, token: str, spec: RunSpec) -> None:
    write_sealed(paths.run, token, spec.model_dump(mode="json"))


def read_spec(paths: StatePaths, token: str) -> RunSpec:
    return RunSpec.model_validate(unseal(token, paths.run.read_bytes()))


def read_timeline(paths: StatePaths, token: str) -> list[TimelineEntry]:
    if not paths.timeline.exists():
        return []
    entries = unseal(token, paths.timeline.read_bytes()).get("entries", [])
    return [TimelineEntry.model_validate(e) for e in entries]


def append_timeline(paths: StatePaths, token: str, started_at: float, what: str, **detail: Any) -> None:
    entries = [e.model_dump() for e in read_timeline(paths, token)]
    now = time.time()
    entries.append(
        TimelineEntry(at=now, t_s=round(now - started_at, 2), what=what, detail=detail).model_dump()
    )
    write_sealed(paths.timeline, token, {"entries": entries})


def runner_pid(paths: StatePaths) -> int | None:
    """The live runner's pid, or None (a stale pid file is ignored)."""
    try:
        pid = int(paths.runner_pid.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        # A runner this process started (`wayfinder walk` does) stays a zombie, still "alive"
        # to kill(0), until its parent reaps it: reap it here.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return None
    except ChildProcessError:
        pass  # not our child: its own parent (or init) reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid
