"""Where the telemetry's CPU goes: py-spy on every Python process of the shop under load.

`uv run python -m benchmarks.telemetry_profile` starts local mode with the shipped telemetry
defaults exporting to the benchmark's do-nothing endpoint (benchmarks/concurrency.py), drives
the same 8 concurrent clients, and samples each shop process with py-spy (from PyPI, run through
`uv tool run`) for the middle of the load. Each process's flame-graph data (folded stacks) is
kept under benchmarks/profiles/ for speedscope or flamegraph.pl, and summarised here:

- a sample is the telemetry's when it is inside OpenTelemetry code (or our own telemetry glue)
  and nothing of the shop's runs below that frame: the span processor and exporter threads, the
  log handler, the metric recording, the instrumentation's own work around a call; not the
  request the ASGI instrumentation wraps, nor the query under a database span;
- the share is of the samples in which the process was on the CPU: py-spy without --idle, and
  without the samples of a thread blocked in a timed wait or a socket read (WAITING), which
  py-spy does not always recognise as idle.

This is a measurement tool, not a test: it prints and exits 0.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from wayfinder.local.config import isolated_config
from wayfinder.local.stack import LocalStack

from benchmarks.concurrency import CLIENTS, drive, null_endpoint

LOAD_S = 40.0
SAMPLE_S = 25
PROFILES = Path(__file__).resolve().parent / "profiles"
# Frames are "function (/full/path/module.py:line)" (--full-filenames: py-spy's short paths
# keep two components only, which cannot tell opentelemetry/.../http/ from the shop's code).
_AT = r"(?:^|[\s(/])"
# Frames of the telemetry: the SDK, the exporters and instrumentations, and our own glue.
TELEMETRY = re.compile(
    rf"{_AT}(?:opentelemetry/|google/protobuf/|wayfinder_common/(?:telemetry|dbspans)\.py)"
)
# Frames of the shop's own work (and of the libraries it runs on) that an instrumentation wraps.
SHOP = re.compile(
    rf"{_AT}(?:starlette|fastapi|sqlalchemy|psycopg|httpx|httpcore|anyio|uvicorn|celery|kombu|redis|h11"
    r"|checkout_api|inventory|payment|payment_provider|invoice_worker|outbox_relay)/"
    rf"|{_AT}wayfinder_common/(?!telemetry\.py|dbspans\.py)"
)
PROCESSES = ("checkout-api", "inventory", "payment", "payment-provider", "outbox-relay", "invoice-worker")


def is_telemetry(frames: list[str]) -> bool:
    """Inside telemetry code with none of the shop's own work below its deepest frame."""
    deepest = max((i for i, f in enumerate(frames) if TELEMETRY.search(f)), default=None)
    return deepest is not None and not any(SHOP.search(f) for f in frames[deepest + 1 :])


# A thread blocked in one of these holds no CPU, though py-spy (which marks only some system
# calls idle) counts it: the span processor's and the metric reader's timed waits above all.
WAITING = re.compile(
    r"^(?:Condition\.wait|Event\.wait|Lock\.acquire|SocketIO\.readinto|select|poll|do_poll) "
)


def summarise(folded: str) -> tuple[int, int, Counter[str]]:
    """(samples on the CPU, telemetry samples, telemetry samples by the deepest telemetry function)."""
    total, telemetry, where = 0, 0, Counter[str]()
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if WAITING.match(frames[-1]):
            continue
        total += int(count)
        if is_telemetry(frames):
            telemetry += int(count)
            deepest = max(i for i, f in enumerate(frames) if TELEMETRY.search(f))
            where[_short(frames[deepest])] += int(count)
    return total, telemetry, where


def _short(frame: str) -> str:
    match = re.match(r"(.*?) \((?:.*/)?((?:opentelemetry|google|wayfinder_common)/.*?):\d+\)", frame)
    return f"{match.group(2)} {match.group(1)}" if match else frame


def record(pid: int, seconds: int, out: Path, *flags: str) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` and its children for `seconds` into `out` (raw folded stacks)."""
    argv = ["uv", "tool", "run", "--from", "py-spy", "py-spy", "record", "--pid", str(pid)]
    argv += [
        "--duration",
        str(seconds),
        "--rate",
        "100",
        "--format",
        "raw",
        "--subprocesses",
        "--full-filenames",
        *flags,
    ]
    return subprocess.Popen([*argv, "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main() -> int:
    PROFILES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, null_endpoint() as null:
        config = isolated_config(Path(tmp) / "profile", null, "bench")
        os.environ["TELEMETRY_ENABLED"] = "true"
        stack = LocalStack(config, report=lambda _: None)
        try:
            stack.up()
            load = threading.Thread(target=drive, args=(config.checkout_url, LOAD_S))
            load.start()
            time.sleep((LOAD_S - SAMPLE_S) / 2)  # the profile covers the middle of the load
            records = {
                name: (record(pid, SAMPLE_S, PROFILES / f"{name}.folded"), PROFILES / f"{name}.folded")
                for name in PROCESSES
                if (pid := stack.processes.pid(name))
            }
            for process, _ in records.values():
                process.wait(timeout=SAMPLE_S + 120)
            load.join()
        finally:
            stack.down()
    print(f"telemetry's share of each process's CPU samples ({CLIENTS} clients, {SAMPLE_S} s, 100 Hz)")
    for name, (_, path) in records.items():
        if not path.exists():
            print(f"  {name:<17} no profile (py-spy needs ptrace: root, or kernel.yama.ptrace_scope=0)")
            continue
        total, telemetry, where = summarise(path.read_text())
        top = ", ".join(f"{w} {n / max(1, total):.0%}" for w, n in where.most_common(3))
        print(f"  {name:<17} {telemetry / max(1, total):5.1%} of {total} samples   {top}")
    print(f"folded stacks: {PROFILES}/*.folded (speedscope.app, or flamegraph.pl for an SVG)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
