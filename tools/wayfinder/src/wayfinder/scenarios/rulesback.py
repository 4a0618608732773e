"""The real-speed alert rules back, once their windows no longer see the training run.

A run at training speed points local mode's Prometheus at prometheus/rules-training. Switching
straight back to prometheus/rules when the run stops would let the real-speed rules' `[5m]`
windows see the run's last minutes: its alerts would go pending again, some fire two minutes
after `scenario stop` said the shop was healthy, and all of them clear only five minutes later.
So the training rules stay (their 30 s windows forget the run within a minute) until the real
rules' longest window holds none of it; then this process switches back, unless a new run has
taken the rules over in the meantime (it deletes the deadline file).

`python -m wayfinder.scenarios.rulesback STATE_FOLDER`: the deadline and the Prometheus to
reload are in the state folder (drill/rules-back), which names no scenario.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from wayfinder.local import prometheus as local_prometheus
from wayfinder.local.config import LocalConfig
from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.rulespeed import DURATION, parse_duration

# Beyond the longest window: a scrape and an evaluation (5 s each in local mode) to settle.
SETTLE_MARGIN_S = 15.0


def longest_window_s(rules_dir: Path) -> float:
    """The longest `[window]` any rule reads over, in seconds (0 when none)."""
    text = "".join(p.read_text() for p in sorted(rules_dir.glob("*.yml")))
    return max((parse_duration(w) for w in re.findall(rf"\[({DURATION})\]", text)), default=0.0)


def deadline_after(stopped_at: float, rules_dir: Path | None = None) -> float:
    return stopped_at + longest_window_s(rules_dir or local_prometheus.rules_dir()) + SETTLE_MARGIN_S


def schedule(paths: StatePaths, local_config: dict[str, Any], deadline: float) -> None:
    """Keep the training rules until `deadline`, then switch back (in a process of its own)."""
    paths.rules_back.parent.mkdir(parents=True, exist_ok=True)
    paths.rules_back.write_text(json.dumps({"deadline": deadline, "local_config": local_config}))
    paths.runner_log.parent.mkdir(parents=True, exist_ok=True)
    with paths.runner_log.open("ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "wayfinder.scenarios.rulesback", str(paths.home)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def cancel(paths: StatePaths) -> None:
    """A new run owns the rules now: a waiting switch-back must not undo its training rules."""
    paths.rules_back.unlink(missing_ok=True)


def pending(paths: StatePaths) -> float | None:
    """When the real-speed rules come back, or None when nothing waits."""
    try:
        return float(json.loads(paths.rules_back.read_text())["deadline"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def switch_back_when_due(paths: StatePaths, now: float | None = None) -> bool:
    """Switch to the real-speed rules if the deadline has passed and no run took over; True if done."""
    from wayfinder.local.stack import LocalStack
    from wayfinder.scenarios.run import runner_pid

    try:
        wanted = json.loads(paths.rules_back.read_text())
    except (FileNotFoundError, ValueError):
        return False
    if (time.time() if now is None else now) < float(wanted["deadline"]) or runner_pid(paths) is not None:
        return False
    stack = LocalStack(LocalConfig.model_validate(wanted["local_config"]), report=lambda _: None)
    local_prometheus.use_rules(stack.config, stack.processes, local_prometheus.rules_dir())
    paths.rules_back.unlink(missing_ok=True)
    return True


def main(argv: list[str]) -> int:
    paths = StatePaths(Path(argv[0]))
    while (deadline := pending(paths)) is not None:
        if switch_back_when_due(paths):
            print("alert rules: back to prometheus/rules", flush=True)
            return 0
        # A daemon's wait, re-reading the file: a new run cancels by deleting it.
        time.sleep(min(5.0, max(0.2, deadline - time.time())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
