"""Where the telemetry's extra CPU goes, in ms per checkout: the shop profiled off and on, then diffed.

`uv run python -m benchmarks.telemetry_diff` runs the concurrency benchmark's load (8 clients,
local mode, the do-nothing OTLP endpoint) with telemetry off and on, alternating for
BENCH_ROUNDS rounds (default 2). In the middle of each phase it samples every Python process of
the shop with py-spy and reads the same processes' CPU time from /proc over the same window.

- py-spy runs with `--gil` (only the thread holding the GIL is sampled, so a thread blocked in
  a socket read, a database wait or the span processor's timed wait is not counted as busy; the
  first profiles, without it, were mostly such waits) and `--nonblocking` (the processes are not
  paused for each sample: pausing six processes 100 times a second had halved the throughput).
- A process's CPU per checkout is split in proportion to its samples, by category: the export
  threads (span and log encoding, the HTTP POST, metric collection) by what they are doing, and
  every other sample by the package of its innermost frame (`otel: sdk/trace`, `sqlalchemy`...).
  An instrumentation's wrapper shows under its own package; the work it wraps stays the shop's.
- Off minus on, category by category, is the telemetry's cost, including what it adds inside
  the shop's own libraries (SQLAlchemy's event dispatch for the statement listeners, the
  middleware frames of the ASGI instrumentation).

py-spy still slows the shop (about a quarter fewer checkouts per second), and time-driven work
(exports every 300 ms, pollers) is spread over fewer checkouts, so the figures run high; compare
categories with each other and with the same run's off column, not with `make bench`. Postgres
and Redis are not sampled. This is a measurement tool, not a test: it prints and exits 0.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from wayfinder.local.config import isolated_config
from wayfinder.local.processes import proc_stats
from wayfinder.local.stack import LocalStack

from benchmarks.concurrency import TARGET_THROUGHPUT, TICKS, drive, null_endpoint
from benchmarks.telemetry_profile import PROCESSES, PROFILES, WAITING, record

LOAD_S = 36.0
SAMPLE_S = 24
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))

_FILE = re.compile(r"\((.*):\d+\)$")
# Tried in this order: a site-packages path also contains /lib/python3.x/.
_PACKAGES = [re.compile(p) for p in (r"/site-packages/(\w+)", r"/src/(\w+)/", r"/lib/python3\.\d+/(\w+)")]
_EXPORT_THREAD = re.compile(r"BatchProcessor\.worker|PeriodicExportingMetricReader\._ticker")
_POST = re.compile(r"requests/|urllib3/|http/client\.py|otlp_transport\.py|socket\.py|genericpath|netrc")


def category(frames: list[str]) -> str:
    """What a sample was doing: an export thread's step, or the package of its innermost frame."""
    stack = ";".join(frames)
    if _EXPORT_THREAD.search(stack):
        if "PeriodicExportingMetricReader" in stack:
            return "export: metrics (collect, encode, POST)"
        if "trace_encoder" in stack or "span_encoding.py" in stack:
            return "export: span encoding"
        if "_log_encoder" in stack:
            return "export: log encoding"
        return "export: HTTP POST" if _POST.search(stack) else "export: other"
    path = match.group(1) if (match := _FILE.search(frames[-1])) else frames[-1]
    if "/opentelemetry/" in path:
        return "otel: " + "/".join(path.split("/opentelemetry/", 1)[1].split("/")[:2]).removesuffix(".py")
    package = next((match for pattern in _PACKAGES if (match := pattern.search(path))), None)
    return package.group(1) if package else path.rsplit("/", 1)[-1]


SDK = "the SDK and API per span, measurement and log record (objects, attributes, context)"
WRAPPERS = "the instrumentations' wrappers (ASGI, FastAPI, httpx, SQLAlchemy, Celery, logging)"
EXPORT = "the export threads (encoding, the HTTP POST, metric collection)"
SHOP = "more work inside the shop's own code and libraries, wayfinder_common included"


def group(name: str) -> str:
    """Which of four parts of the telemetry's cost a category belongs to."""
    if name.startswith("export: "):
        return EXPORT
    if name.startswith(("otel: instrumentation/", "otel: util/http")):
        return WRAPPERS
    if name.startswith("otel: "):
        return SDK
    return SHOP


def split(folded: str, cpu_ms: float) -> Counter[str]:
    """The process's CPU (ms per checkout) split by category in proportion to its samples."""
    samples = Counter[str]()
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not stack or not count.isdigit() or WAITING.match(frames[-1]):
            continue
        samples[category(frames)] += int(count)
    total = sum(samples.values())
    return Counter({name: cpu_ms * n / total for name, n in samples.items()}) if total else Counter()


def _cpu_seconds(root: int) -> float:
    """utime + stime of a process and its descendants (the invoice worker's prefork children)."""
    parent = {pid: ppid for pid, ppid, _, _ in proc_stats()}
    total = 0
    for pid in parent:
        seen = pid
        while seen > 1 and seen != root:
            seen = parent.get(seen, 1)
        if seen == root:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def profile_phase(name: str, telemetry: bool, root: Path) -> tuple[float, Counter[str]]:
    """(checkouts/s, ms of CPU per checkout by category summed over the shop's Python processes)."""
    with null_endpoint() as null:
        config = isolated_config(root / name, null, "bench")
        os.environ["TELEMETRY_ENABLED"] = "true" if telemetry else "false"
        stack = LocalStack(config, report=lambda _: None)
        result: dict[str, tuple[list[float], int]] = {}
        try:
            stack.up()
            drive(config.checkout_url, 4)
            load = threading.Thread(target=lambda: result.update(load=drive(config.checkout_url, LOAD_S)))
            load.start()
            time.sleep((LOAD_S - SAMPLE_S) / 2)  # the middle of the load
            pids = {process: pid for process in PROCESSES if (pid := stack.processes.pid(process))}
            before = {process: _cpu_seconds(pid) for process, pid in pids.items()}
            window_started = time.monotonic()
            recorders = {
                process: record(
                    pid, SAMPLE_S, PROFILES / f"diff-{name}-{process}.folded", "--gil", "--nonblocking"
                )
                for process, pid in pids.items()
            }
            for recorder in recorders.values():
                recorder.wait(timeout=SAMPLE_S + 120)
            spent = {process: _cpu_seconds(pid) - before[process] for process, pid in pids.items()}
            window_s = time.monotonic() - window_started  # py-spy's start-up and exit included
            load.join()
        finally:
            stack.down()
            os.environ.pop("TELEMETRY_ENABLED", None)
    per_s = len(result["load"][0]) / LOAD_S
    # The CPU was read over the whole window, so the checkouts are counted over it too (at the
    # load's steady rate), not over the SAMPLE_S that py-spy sampled.
    checkouts = per_s * window_s
    by_category = Counter[str]()
    for process, seconds in spent.items():
        folded = PROFILES / f"diff-{name}-{process}.folded"
        if folded.exists():
            by_category.update(split(folded.read_text(), 1000 * seconds / checkouts))
    return per_s, by_category


def main() -> int:
    PROFILES.mkdir(exist_ok=True)
    off, on = Counter[str](), Counter[str]()
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(ROUNDS):
            for telemetry in (False, True) if round_ % 2 == 0 else (True, False):
                name = f"{'on' if telemetry else 'off'}{round_ + 1}"
                per_s, by_category = profile_phase(name, telemetry, Path(tmp))
                (on if telemetry else off).update(by_category)
                spent = sum(by_category.values())
                print(f"  {name:<5} {per_s:5.1f} checkouts/s under py-spy, {spent:5.1f} ms/checkout")
    if not off or not on:
        print("no profile (py-spy needs ptrace: root, or kernel.yama.ptrace_scope=0)")
        return 0
    cost = {name: (on[name] - off[name]) / ROUNDS for name in set(on) | set(off)}
    total_off, total_on = sum(off.values()) / ROUNDS, sum(on.values()) / ROUNDS
    print(f"CPU ms per checkout, the shop's Python processes, mean of {ROUNDS} rounds under py-spy")
    print(f"  off {total_off:.1f}, on {total_on:.1f}: telemetry {total_on - total_off:+.1f}")
    print(f"  {'category':<42} {'off':>6} {'on':>6} {'on-off':>7}")
    for name, delta in sorted(cost.items(), key=lambda item: -abs(item[1]))[:30]:
        print(f"  {name:<42} {off[name] / ROUNDS:6.2f} {on[name] / ROUNDS:6.2f} {delta:+7.2f}")
    parts: dict[str, float] = dict.fromkeys((SDK, WRAPPERS, EXPORT, SHOP), 0.0)
    for name, delta in cost.items():
        parts[group(name)] += delta
    print("  the telemetry's cost in four parts, ms per checkout:")
    for part in (SDK, WRAPPERS, EXPORT, SHOP):
        print(f"    {parts[part]:+6.2f}  {part}")
    # If throughput followed CPU exactly (a CPU-bound machine), the target ratio would leave
    # off x (1/target - 1) for all of it. The benchmark's runs did a little better than that
    # (docs/performance.md), so read this as the order of magnitude of the budget.
    share = 1 / TARGET_THROUGHPUT - 1
    per_item = parts[SDK] + parts[WRAPPERS]
    print(
        f"  throughput >= {TARGET_THROUGHPUT} if it followed CPU: {total_off * share:.2f} ms for all of it"
        f" (off {total_off:.1f} x {share:.3f}); per span and per call (SDK + wrappers): {per_item:.2f} ms"
    )
    print(f"folded stacks: {PROFILES}/diff-*.folded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
