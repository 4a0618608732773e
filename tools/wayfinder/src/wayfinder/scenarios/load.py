"""The load a scenario needs, behind two functions: start_load(profile) and stop_load().

ADAPTER: this branch has no loadtest/ package (Locust is not a dependency yet), so the load
comes from `wayfinder.scenarios.steadyload`, a small open-loop checkout generator. When
`wayfinder load` lands, point `_command` at it; nothing else here needs to change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from wayfinder.scenarios.model import LoadProfile


@dataclass
class LoadRun:
    pid: int


def _command() -> list[str]:
    return [sys.executable, "-m", "wayfinder.scenarios.steadyload"]


def start_load(
    profile: LoadProfile, *, target_url: str, duration_s: float, seed: int | None, log_file: Path
) -> LoadRun:
    """Start the load in the background; its settings travel in the environment, not argv,
    so the process list shows no region mix or rate that hints at the scenario."""
    env = dict(os.environ)
    env["WAYFINDER_LOAD_PROFILE"] = profile.model_dump_json()
    env["WAYFINDER_LOAD_TARGET"] = target_url
    env["WAYFINDER_LOAD_DURATION_S"] = str(duration_s)
    env["WAYFINDER_LOAD_SEED"] = "" if seed is None else str(seed)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            _command(), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return LoadRun(process.pid)


def stop_load(run: LoadRun) -> None:
    try:
        os.killpg(run.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
