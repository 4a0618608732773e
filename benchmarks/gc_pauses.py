"""What Python's cyclic garbage collector costs each shop process under load, telemetry off and on.

`uv run python -m benchmarks.gc_pauses` runs the concurrency benchmark's load (8 clients, fresh
Idempotency-Keys, three regions) with telemetry off and on, alternated ROUNDS times. Every shop
process gets a `sitecustomize` on its PYTHONPATH that times each collection on the thread's CPU
clock (`gc.callbacks`) and writes its totals, with its user and system time and its context
switches, to a file every second; the phase's figures are the difference between a snapshot
taken before the measured load and one after, per checkout.

Found with it (docs/performance.md): each HTTP service ran a full collection every 5-7 s under
load, walking every object start-up had built, 70-100 ms each; freezing the start-up heap
(`wayfinder_common.runner.with_startup_heap_frozen`) took them to a few milliseconds.
Not part of `make bench`: it prints and exits 0.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wayfinder.local.stack import LocalStack

from benchmarks import concurrency

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
SNAPSHOT_EVERY_S = 1.0

# Runs inside every shop process (imported by `site` at start-up). It only reads clocks and
# counters; a forked child (the Celery pool) starts its own totals and its own writer thread.
PROBE = """
import gc, json, os, resource, sys, threading, time

_out = os.environ["GC_PAUSES_OUT"]
_every = float(os.environ["GC_PAUSES_EVERY_S"])
_started = [0.0]
_totals = {}

def _collection(phase, info):
    if phase == "start":
        _started[0] = time.thread_time()
        return
    count, seconds = _totals.get(info["generation"], (0, 0.0))
    _totals[info["generation"]] = (count + 1, seconds + time.thread_time() - _started[0])

def _write():
    while True:
        time.sleep(_every)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        snapshot = {
            "process": _name(),
            "collections": {str(g): list(v) for g, v in _totals.items()},
            "user_s": usage.ru_utime,
            "system_s": usage.ru_stime,
            "switches": usage.ru_nvcsw + usage.ru_nivcsw,
        }
        with open(os.path.join(_out, f"{os.getpid()}.json"), "w") as f:
            json.dump(snapshot, f)

def _start():
    _totals.clear()
    threading.Thread(target=_write, daemon=True).start()

def _name():
    # Asked late: while `site` imports this, argv[0] is still "-m"; then .../checkout_api/__main__.py
    main = sys.argv[0]
    if main.endswith("__main__.py"):
        main = os.path.basename(os.path.dirname(main))
    return " ".join([main, *sys.argv[1:2]])

gc.callbacks.append(_collection)
os.register_at_fork(after_in_child=_start)
_start()
"""


def snapshots(folder: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in folder.glob("*.json"):
        try:
            found[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being written: the next snapshot has it
    return found


def _gc_seconds(start: dict[str, Any], end: dict[str, Any], generations: str) -> float:
    def spent(snapshot: dict[str, Any], generation: str) -> float:
        return float(snapshot["collections"].get(generation, [0, 0.0])[1])

    return sum(spent(end, g) - spent(start, g) for g in generations)


def per_checkout(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], checkouts: int
) -> list[str]:
    """One line per process that was there before and after: ms per checkout, most GC first."""
    rows: list[tuple[float, str]] = []
    for pid, end in after.items():
        start = before.get(pid)
        if start is None:
            continue
        full = end["collections"].get("2", [0, 0.0])[0] - start["collections"].get("2", [0, 0.0])[0]
        user = 1000 * (end["user_s"] - start["user_s"]) / checkouts
        system = 1000 * (end["system_s"] - start["system_s"]) / checkouts
        switches = (end["switches"] - start["switches"]) / checkouts
        total_gc = 1000 * _gc_seconds(start, end, "012") / checkouts
        full_gc = 1000 * _gc_seconds(start, end, "2") / checkouts
        rows.append(
            (
                total_gc,
                f"    {end['process'][-28:]:<28} cpu {user + system:6.2f}"
                f" (user {user:5.2f}, system {system:4.2f})"
                f"  gc {total_gc:5.2f}, of it full {full_gc:5.2f} in {full} collections"
                f"  switches {switches:5.1f}",
            )
        )
    return [line for _, line in sorted(rows, reverse=True)]


def main(say: Callable[[str], None] = print) -> None:
    say(
        f"gc pauses: {concurrency.CLIENTS} clients, {concurrency.PHASE_S:g} s phases, {ROUNDS} rounds;"
        " ms of CPU per checkout"
    )
    with tempfile.TemporaryDirectory() as tmp, concurrency.null_endpoint() as null:
        probe_dir, out = Path(tmp) / "probe", Path(tmp) / "out"
        probe_dir.mkdir()
        (probe_dir / "sitecustomize.py").write_text(PROBE)

        def probed(env: dict[str, str]) -> dict[str, str]:
            path = env.get("PYTHONPATH")
            env["PYTHONPATH"] = f"{probe_dir}{os.pathsep}{path}" if path else str(probe_dir)
            return {**env, "GC_PAUSES_OUT": str(out), "GC_PAUSES_EVERY_S": str(SNAPSHOT_EVERY_S)}

        original_cpu = concurrency.shop_cpu_seconds
        marks: list[dict[str, dict[str, Any]]] = []

        def cpu_and_snapshot(stack: LocalStack) -> float:
            time.sleep(SNAPSHOT_EVERY_S * 1.5)  # every probe has written since the last change
            marks.append(snapshots(out))
            return original_cpu(stack)

        concurrency.shop_cpu_seconds = cpu_and_snapshot
        try:
            with concurrency.shop_env(probed):
                for round_number in range(ROUNDS):
                    for name, telemetry in (("off", False), ("on", True)):
                        out.mkdir(exist_ok=True)
                        for stale in out.glob("*.json"):
                            stale.unlink()
                        marks.clear()
                        phase = concurrency.run_phase(
                            f"{name} #{round_number + 1}", telemetry, null, Path(tmp), say
                        )
                        for line in per_checkout(marks[0], marks[1], max(1, len(phase.latencies_ms))):
                            say(line)
        finally:
            concurrency.shop_cpu_seconds = original_cpu


if __name__ == "__main__":
    main()
