"""A run's timeline as Grafana annotations (compose stack only), written when it ends or is revealed.

Never while a drill runs unrevealed: the runner writes them as it undoes the run, `scenario stop`
and `scenario status --reveal` write whatever is still missing. Organization annotations (no
dashboard) through Grafana's HTTP API, `POST /api/annotations` with `time` in epoch milliseconds,
`tags` and `text`; every provisioned dashboard shows them with an annotation query on the tags
`wayfinder` and `scenario`. No credentials: the stack's anonymous user is an Editor
(docker-compose.yml), a role that may create organization annotations. A sealed marker in the
drill folder counts what was written for which run, so a reveal followed by a stop, or a stop
retried after a Grafana outage, writes each switch once.
"""

from __future__ import annotations

import fcntl
import sys
from typing import Any, TextIO

import httpx
from wayfinder_common.faultstate import unseal, write_sealed

from wayfinder.local.config import LocalConfig, find_project_root
from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.run import TimelineEntry, read_spec, read_timeline

TAGS = ("wayfinder", "scenario")
TIMEOUT_S = 3.0


def describe(entry: TimelineEntry) -> str:
    """What was switched, in one line: `fault on provider.rate_limit [eu-west] rate_per_s=4.5`."""
    detail = dict(entry.detail)
    words = [entry.what]
    if hook := detail.pop("hook", None):
        words.append(str(hook))
    if scope := detail.pop("scope", None):
        words.append(f"[{scope}]")
    params = detail.pop("params", None) or {}
    words += [f"{key}={value}" for key, value in sorted(params.items())]
    words += [f"{key}={value}" for key, value in sorted(detail.items()) if value is not None]
    return " ".join(words)


def annotation(scenario: str, entry: TimelineEntry) -> dict[str, Any]:
    """The request body for one switch (an organization annotation: no dashboard, no panel)."""
    return {
        "time": round(entry.at * 1000),
        "tags": [*TAGS, scenario],
        "text": f"{scenario}: {describe(entry)}",
    }


def grafana_url(config: LocalConfig) -> str | None:
    """The compose stack's Grafana when the last `wayfinder up` chose compose; None in local mode."""
    from wayfinder import compose_mode
    from wayfinder.local.cli import remembered_mode

    if remembered_mode(config) != "compose":
        return None
    return compose_mode.urls(find_project_root())["Grafana (start here)"]


def _written(paths: StatePaths, token: str, started_at: float) -> int:
    if not paths.annotated.exists():
        return 0
    marker = unseal(token, paths.annotated.read_bytes())
    return int(marker["written"]) if marker.get("started_at") == started_at else 0


def publish(paths: StatePaths, token: str, url: str) -> int:
    """Post the run's switches not yet annotated; how many it posted. Raises httpx.HTTPError."""
    if not paths.run.exists():
        return 0
    spec = read_spec(paths, token)
    lock = paths.annotated.with_name("annotated.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle, httpx.Client(base_url=url, timeout=TIMEOUT_S) as client:
        # The runner and a `scenario stop` or reveal may both get here: one at a time.
        fcntl.flock(handle, fcntl.LOCK_EX)
        done = _written(paths, token, spec.started_at)
        entries = read_timeline(paths, token)
        for count, entry in enumerate(entries[done:], start=done + 1):
            client.post("/api/annotations", json=annotation(spec.scenario, entry)).raise_for_status()
            # Counted one by one: an outage half-way leaves the rest for the next attempt.
            write_sealed(paths.annotated, token, {"started_at": spec.started_at, "written": count})
    return len(entries) - done


def publish_quietly(paths: StatePaths, token: str, config: LocalConfig, out: TextIO | None = None) -> None:
    """Annotate in compose mode; local mode keeps the timeline file only. Never fails the caller."""
    url = grafana_url(config)
    if url is None:
        return
    try:
        publish(paths, token, url)
    except httpx.HTTPError as exc:
        reason = (
            f"HTTP {exc.response.status_code}"
            if isinstance(exc, httpx.HTTPStatusError)
            else type(exc).__name__
        )
        print(
            f"warning: the run's timeline did not reach Grafana at {url} ({reason}); it stays in "
            f"{paths.timeline} and the next `wayfinder scenario stop` retries",
            file=out or sys.stderr,
        )
