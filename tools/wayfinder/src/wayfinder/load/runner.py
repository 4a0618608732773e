"""The child process of `wayfinder load`: Locust as a library, headless, reporting JSON lines.

`python -m wayfinder.load.runner LOCUSTFILE[,LOCUSTFILE] [LOCUST OPTIONS]` prints one
`{"event": "progress", ...}` line a second and one `{"event": "final", ...}` line at the end.
Importing Locust monkey-patches the whole process with gevent: that is why it runs here, in a
process of its own, and never in the CLI or a service.
"""

from __future__ import annotations

# isort: off
import locust  # first: gevent has to patch the process before sockets and threads are used

# isort: on
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import gevent
import gevent.event
from locust.argument_parser import get_parser
from locust.env import Environment
from locust.exception import CatchResponseError
from locust.runners import LocalRunner
from locust.util.load_locustfile import load_locustfile

PROGRESS_EVERY_S = 1.0


def main(argv: Sequence[str]) -> int:
    users: dict[str, Any] = {}
    shapes: list[Any] = []
    for path in argv[0].split(","):
        found_users, found_shapes = load_locustfile(path)
        users.update(found_users)
        shapes.extend(found_shapes)
    # Parsed after the locustfiles are loaded: they add the journeys' own options to the parser.
    # A bad option exits 2 here with argparse's message on stderr.
    options = get_parser().parse_args(list(argv[1:]))
    env = Environment(
        user_classes=list(users.values()),
        shape_class=shapes[0] if shapes else None,
        events=locust.events,
        host=options.host,
        parsed_options=options,
    )
    runner = env.create_local_runner()
    failures: Counter[str] = Counter()
    env.events.request.add_listener(_failure_counter(failures))
    env.events.init.fire(environment=env, runner=runner, web_ui=None)

    stop = gevent.event.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, stop.set)
    started = time.monotonic()
    if env.shape_class is not None:
        runner.start_shape()
    else:
        runner.start(options.num_users, spawn_rate=options.spawn_rate)
    _wait_reporting(runner, started, options.run_time, stop)
    runner.quit()
    # A stepped run's top step is --users too.
    _emit(_final(runner, failures, time.monotonic() - started, options.num_users))
    return 0


def _failure_counter(failures: Counter[str]) -> Any:
    def count(exception: BaseException | None = None, **_: Any) -> None:
        if exception is None:
            return
        # The journeys fail a request with the API's error code as the message; anything
        # else (a bug in a journey, an unexpected exception) is counted by its class.
        code = str(exception) if isinstance(exception, CatchResponseError) else type(exception).__name__
        failures[code] += 1

    return count


def _wait_reporting(runner: LocalRunner, started: float, run_time_s: float, stop: gevent.event.Event) -> None:
    """Report progress every second until the run time is up or a signal asks to stop.

    Deadlines are checked against the monotonic clock, not left to gevent timers: the event
    loop's cached time is stale after the slow start-up (Locust's imports), which fires a timer
    set now seconds early.
    """
    deadline = started + run_time_s
    next_report = started + PROGRESS_EVERY_S
    while not stop.is_set() and time.monotonic() < deadline:
        stop.wait(timeout=max(0.0, min(next_report, deadline) - time.monotonic()))
        if time.monotonic() >= next_report:
            next_report += PROGRESS_EVERY_S
            _report_progress(runner, started)


def _report_progress(runner: LocalRunner, started: float) -> None:
    total = runner.stats.total
    elapsed = time.monotonic() - started
    _emit(
        {
            "event": "progress",
            "elapsed_s": round(elapsed, 1),
            "users": runner.user_count,
            "requests": total.num_requests,
            "failures": total.num_failures,
            # Since the start: Locust's current_rps lags by seconds and reads 0 early in a run.
            "rps": round(total.num_requests / max(elapsed, 0.001), 2),
            "p95_ms": total.get_response_time_percentile(0.95) if total.num_requests else None,
        }
    )


def _final(runner: LocalRunner, failures: Counter[str], elapsed_s: float, users: int) -> dict[str, Any]:
    stats = runner.stats
    by_request = {
        f"{entry.method} {entry.name}": {"requests": entry.num_requests, "failures": entry.num_failures}
        for entry in sorted(stats.entries.values(), key=lambda e: (e.name, e.method or ""))
    }
    return {
        "event": "final",
        "elapsed_s": round(elapsed_s, 2),
        "users": users,
        "requests": stats.total.num_requests,
        "failures": stats.total.num_failures,
        "failures_by_code": dict(failures),
        "response_times": {str(ms): n for ms, n in stats.total.response_times.items()},
        "by_request": by_request,
        "journey_errors": sum(row["count"] for row in runner.exceptions.values()),
    }


def _emit(report: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        # The CLI that reads us is gone: stop the load with it.
        sys.exit(1)
