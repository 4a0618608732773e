"""A stepped load: the users, and with them the rate, rise in equal steps, then the run ends.

Load it beside locustfile.py (`-f locustfile.py,stepped.py`); in the web UI, `--class-picker`
offers it as a shape. With --rate R, each user paces at R / --users journeys per second, so
step k of K runs at about k/K of R.
"""

from __future__ import annotations

import math
from typing import Any

from locust import LoadTestShape, events


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--steps", type=int, default=4, env_var="LOCUST_STEPS", help="how many steps")
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=60.0,
        env_var="LOCUST_STEP_SECONDS",
        help="how long each step lasts",
    )


class SteppedLoad(LoadTestShape):
    """1/K of the users, then 2/K, ... then all of them; stops after K steps."""

    # The web UI's user count (and our --users) is the top step.
    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None
        options = self.runner.environment.parsed_options
        steps = max(1, int(options.steps))
        step_seconds = max(1.0, float(options.step_seconds))
        elapsed = self.get_run_time()
        if elapsed >= steps * step_seconds:
            return None
        step = int(elapsed // step_seconds) + 1
        users = max(1, math.ceil(int(options.num_users or 1) * step / steps))
        return users, float(users)
