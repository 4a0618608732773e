"""What a run did: requests, failures by error code, latency percentiles; as text or one JSON object.

Pure functions over the child's final report (plain JSON), so they are tested without Locust.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def percentile(histogram: Mapping[int, int], fraction: float) -> int | None:
    """The smallest response time (ms) that at least `fraction` of the requests did not exceed."""
    total = sum(histogram.values())
    if total == 0:
        return None
    needed = max(1, math.ceil(fraction * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= needed:
            return value
    raise AssertionError("unreachable: the counts add up to the total")


def summarize(final: Mapping[str, Any], target: str) -> dict[str, Any]:
    """The end summary of one run, from the child's `final` report."""
    histogram = {int(ms): int(count) for ms, count in final.get("response_times", {}).items()}
    requests = int(final["requests"])
    elapsed = float(final["elapsed_s"])
    by_code = {str(code): int(n) for code, n in final.get("failures_by_code", {}).items()}
    return {
        "target": target,
        "duration_s": round(elapsed, 1),
        "users": int(final["users"]),
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 2) if elapsed > 0 else 0.0,
        "failures": int(final["failures"]),
        "failures_by_code": dict(sorted(by_code.items(), key=lambda item: (-item[1], item[0]))),
        "latency_ms": {name: percentile(histogram, fraction) for name, fraction in PERCENTILES.items()},
        "by_request": final.get("by_request", {}),
        "journey_errors": int(final.get("journey_errors", 0)),
    }


def render(summary: Mapping[str, Any]) -> str:
    """The summary for a terminal."""
    latency = summary["latency_ms"]
    lines = [
        f"Load on {summary['target']}: {summary['duration_s']:g} s, {summary['users']} users, "
        f"{summary['requests']} requests ({summary['requests_per_s']:g}/s)",
        "  latency   " + "   ".join(f"{name} {_ms(value)}" for name, value in latency.items()),
    ]
    failures = summary["failures"]
    share = f" ({100 * failures / summary['requests']:.1f}%)" if summary["requests"] else ""
    codes = ", ".join(f"{code} {n}" for code, n in summary["failures_by_code"].items())
    lines.append(f"  failures  {failures}{share}" + (f": {codes}" if codes else ""))
    for name, row in summary["by_request"].items():
        lines.append(f"    {name:<34} {row['requests']:>7} requests {row['failures']:>6} failures")
    if summary["journey_errors"]:
        lines.append(
            f"  {summary['journey_errors']} journeys raised an exception in the load generator itself"
        )
    return "\n".join(lines)


def progress_line(report: Mapping[str, Any], duration_s: int) -> str:
    """One line while the run goes on."""
    return (
        f"[{report['elapsed_s']:>4.0f}/{duration_s} s] {report['users']} users  "
        f"{report['requests']} requests  {report['failures']} failures  "
        f"{report['rps']:.1f} req/s  p95 {_ms(report.get('p95_ms'))}"
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
