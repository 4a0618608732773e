"""The load a scenario needs, behind two functions: start_load(profile) and stop_load().

The load is `wayfinder load`'s own Locust child (wayfinder.load.runner) running loadtest/'s
journeys. Its settings travel in Locust's LOCUST_* environment variables, not argv, so the
process list shows no region mix or rate that hints at the scenario.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from wayfinder.load import options
from wayfinder.scenarios.model import LoadProfile

# loadtest/locustfile.py weighs its journeys browse 3 : buy 7, and a scenario's rate counts
# checkouts: the journey rate is the checkout rate divided by the buying share.
CHECKOUT_SHARE = 0.7
# A journey under a fault can take seconds (a slow provider, a held lock): enough users that
# the pacing, not the users' own waiting, sets the rate.
JOURNEY_BUDGET_S = 6.0


@dataclass
class LoadRun:
    pid: int


def _mix(weights: dict[str, float]) -> str:
    return ",".join(f"{name}={weight:g}" for name, weight in weights.items() if weight > 0)


def locust_env(profile: LoadProfile, *, target_url: str, duration_s: float) -> dict[str, str]:
    """The scenario's load profile as the options `wayfinder load` would pass Locust."""
    journeys_per_s = profile.rate_per_s / CHECKOUT_SHARE
    users = max(4, math.ceil(journeys_per_s * JOURNEY_BUDGET_S))
    return {
        "LOCUST_HOST": target_url,
        "LOCUST_USERS": str(users),
        # Spawned at the journey rate: each user's first journey falls into the pacing's gaps
        # instead of all of them checking out in the first second.
        "LOCUST_SPAWN_RATE": repr(journeys_per_s),
        "LOCUST_RUN_TIME": f"{max(1, math.ceil(duration_s))}s",
        "LOCUST_RATE": repr(journeys_per_s),
        "LOCUST_REGION_MIX": _mix(profile.region_mix),
        "LOCUST_TIER_MIX": _mix(profile.tier_mix),
        "LOCUST_DECLINE_RATIO": repr(profile.decline_ratio),
        # A scenario's traces should show its fault, not the client-timeout replays.
        "LOCUST_REPLAY_RATIO": "0",
    }


def command() -> list[str]:
    """`wayfinder load`'s Locust child, with the journeys' file as its only argument."""
    return [sys.executable, "-m", "wayfinder.load.runner", str(options.loadtest_dir() / "locustfile.py")]


def start_load(
    profile: LoadProfile, *, target_url: str, duration_s: float, seed: int | None, log_file: Path
) -> LoadRun:
    """Start the load in the background, its output (JSON progress lines) into `log_file`.

    `seed` does not reach the journeys: Locust's users draw from the process-wide random source
    in whatever order gevent runs them, so only the fault timeline is reproducible.
    """
    env = {**os.environ, **locust_env(profile, target_url=target_url, duration_s=duration_s)}
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command(), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return LoadRun(process.pid)


def stop_load(run: LoadRun) -> None:
    try:
        os.killpg(run.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
