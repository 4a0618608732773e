"""Each shop process's memory as a container limit counts it, against the compose limits.

Starts local mode on free ports with every service in a memory cgroup of its own (it joins the
group before exec, so everything it touches is charged there), drives it with the heaviest load
`wayfinder load` makes (its Locust child runs outside the groups), stops Redis for a while so
the outbox backs up, starts it again so the relay and the worker drain the backlog, and reads
each group's peak. Every compose limit must leave HEADROOM over that peak.

Page cache: the services share one virtualenv, and a file page is charged to the group that
read it first, so later services would be undercounted next to a container, which holds its
own copy of its image's files. Each sample adds back the files a service's processes map that
were charged elsewhere (RssFile minus the group's mapped file pages); files read but not mapped
(the .pyc modules) stay uncounted: reclaimable cache a container gives back before any OOM.

Writes the figures to benchmarks/memory-measured.json (commit it: tests/stack/test_stack_memory.py
keeps it, the compose limits and docs/stack.md in agreement). `python -m benchmarks.memory`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from wayfinder.local.components import start_component, stop_component
from wayfinder.local.config import find_project_root, isolated_config
from wayfinder.local.stack import HTTP_SERVICES, WORKERS, LocalStack
from wayfinder.store.db import TelemetryStore
from wayfinder.store.server import OTLPReceiver

from benchmarks.cgroups import CgroupUnavailable, ServiceGroups, rss_file

ROOT = find_project_root(Path(__file__).parent)
MEASURED = ROOT / "benchmarks" / "memory-measured.json"
SERVICES = [name for name, _ in HTTP_SERVICES] + [name for name, _, _ in WORKERS]
HEADROOM = 0.30  # every limit at least 30 % above the measured peak
MIB = 1024**2
# The heaviest load `wayfinder load` makes: closed-loop users, a rate no 2-core machine reaches,
# so each user sends its next journey as soon as the last one ends.
USERS = int(os.environ.get("BENCH_MEMORY_USERS", "32"))
RATE = 1000.0
PHASES = [
    ("steady load", int(os.environ.get("BENCH_MEMORY_STEADY_S", "60"))),
    ("redis down", int(os.environ.get("BENCH_MEMORY_OUTAGE_S", "45"))),
    ("backlog drains", int(os.environ.get("BENCH_MEMORY_DRAIN_S", "45"))),
    ("after load", 15),
]
SAMPLE_EVERY_S = 0.5


@dataclass
class Figures:
    """What the sampler saw of one service's cgroup."""

    anon_peak: int = 0
    file_uncharged_peak: int = 0  # mapped files charged to another group (see module docstring)
    by_phase: dict[str, int] = field(default_factory=dict)  # highest memory.current per phase
    processes: int = 0


class Sampler(threading.Thread):
    """Reads every group twice a second until stopped."""

    def __init__(self, groups: ServiceGroups) -> None:
        super().__init__(daemon=True)
        self.groups = groups
        self.figures = {name: Figures() for name in SERVICES}
        self.phase = "start-up"
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_EVERY_S):
            for name in SERVICES:
                self._sample(name)

    def _sample(self, name: str) -> None:
        flavour, figures = self.groups.flavour, self.figures[name]
        try:
            current, stat, pids = self.groups.current(name), self.groups.stat(name), self.groups.pids(name)
        except OSError:
            return
        figures.by_phase[self.phase] = max(figures.by_phase.get(self.phase, 0), current)
        figures.anon_peak = max(figures.anon_peak, stat.get(flavour.anon, 0))
        # Forked children map the parent's files: the largest mapping stands for the group.
        mapped = max((rss_file(pid) for pid in pids), default=0)
        uncharged = max(0, mapped - stat.get(flavour.mapped, 0))
        figures.file_uncharged_peak = max(figures.file_uncharged_peak, uncharged)
        figures.processes = max(figures.processes, len(pids))


def compose_limits() -> dict[str, int]:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    limits = {}
    for name in SERVICES:
        text = str(services[name]["deploy"]["resources"]["limits"]["memory"])
        number, unit = re.fullmatch(r"(\d+)([MG])", text).groups()  # type: ignore[union-attr]
        limits[name] = int(number) * (MIB if unit == "M" else 1024 * MIB)
    return limits


def _load(url: str, seconds: int) -> subprocess.Popen[str]:
    """`wayfinder load` in a process of its own: never inside a measured group."""
    command = [sys.executable, "-m", "wayfinder.cli", "load", "--host", url, "--users", str(USERS)]
    command += ["--rate", str(RATE), "--duration", f"{seconds}s", "--json"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _measure(root: Path, groups: ServiceGroups) -> tuple[Sampler, dict[str, Any]]:
    store = TelemetryStore(root / "telemetry.db")
    receiver = OTLPReceiver(store, port=0).start()
    # Export delays as compose has them (SDK defaults, 15 s metrics): what the SDK buffers counts.
    config = isolated_config(
        root / "home",
        receiver.endpoint,
        "bench-memory",
        span_export_delay_ms=5000,
        metric_export_interval_ms=15000,
    )
    stack = LocalStack(config, report=lambda _: None, cgroups=groups.paths)
    sampler = Sampler(groups)
    sampler.start()
    summary: dict[str, Any] = {}
    try:
        stack.up()
        load = _load(config.checkout_url, sum(seconds for _, seconds in PHASES[:3]))
        for phase, seconds in PHASES:
            sampler.phase = phase
            print(f"  {phase} ({seconds} s)", flush=True)
            if phase == "redis down":
                stop_component(stack, "redis")
            elif phase == "backlog drains":
                start_component(stack, "redis")
            time.sleep(seconds)
        output, _ = load.communicate(timeout=120)
        summary = json.loads(output.strip().splitlines()[-1]) if output.strip() else {}
        for name in SERVICES:
            sampler._sample(name)
    finally:
        sampler.done.set()
        sampler.join()
        stack.down()
        receiver.stop()
        store.close()
    return sampler, summary


def _row(*cells: str) -> str:
    return "  " + " ".join(cell.rjust(width) for cell, width in zip(cells, WIDTHS, strict=True))


WIDTHS = (17, 10, 9, 14, 10, 7, 9, 7)


def main() -> bool:
    print(f"memory per service, in cgroups (local mode; {USERS} closed-loop users, a Redis outage):")
    try:
        groups = ServiceGroups(SERVICES, "wayfinder-bench-memory")
    except CgroupUnavailable as exc:
        print(f"  FAIL: {exc}")
        return False
    try:
        peaks: dict[str, int] = {}
        with tempfile.TemporaryDirectory() as folder:
            sampler, load = _measure(Path(folder), groups)
            # Read before the groups go: memory.peak lasts as long as the group does.
            peaks = {name: groups.peak(name) for name in SERVICES}
    finally:
        groups.remove()
    limits = compose_limits()
    print(
        f"  cgroup {groups.flavour.version} ({groups.flavour.peak}); load: "
        f"{load.get('requests', '?')} requests, {load.get('failures', '?')} failures"
    )
    print(_row("service", "peak", "anon", "+files mapped", "container", "limit", "headroom", "verdict"))
    results: dict[str, Any] = {}
    ok = True
    for name in SERVICES:
        figures = sampler.figures[name]
        container = peaks[name] + figures.file_uncharged_peak
        headroom = limits[name] / container - 1
        fits = headroom >= HEADROOM
        ok = ok and fits
        print(
            _row(
                name,
                f"{peaks[name] / MIB:.0f} MiB",
                f"{figures.anon_peak / MIB:.0f} MiB",
                f"{figures.file_uncharged_peak / MIB:.0f} MiB",
                f"{container / MIB:.0f} MiB",
                f"{limits[name] // MIB}M",
                f"{headroom:+.0%}",
                "ok" if fits else "FAIL",
            )
        )
        results[name] = {
            "peak_mib": round(peaks[name] / MIB, 1),
            "anon_peak_mib": round(figures.anon_peak / MIB, 1),
            "uncharged_mapped_files_mib": round(figures.file_uncharged_peak / MIB, 1),
            "container_peak_mib": round(container / MIB, 1),
            "processes": figures.processes,
            "peak_by_phase_mib": {p: round(v / MIB, 1) for p, v in figures.by_phase.items()},
            "compose_limit_mib": limits[name] // MIB,
        }
    _write(groups.flavour.version, load, results)
    missed = [name for name in SERVICES if not _fits(results[name])]
    if missed:
        print(f"  FAIL: under {HEADROOM:.0%} headroom over the measured peak: {', '.join(missed)}")
    else:
        print(f"  every limit leaves at least {HEADROOM:.0%} over its service's peak")
    print(f"  written to {MEASURED.relative_to(ROOT)}")
    return ok


def _fits(result: dict[str, Any]) -> bool:
    return bool(result["compose_limit_mib"] >= (1 + HEADROOM) * result["container_peak_mib"])


def _write(version: str, load: dict[str, Any], results: dict[str, Any]) -> None:
    document = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "how": "python -m benchmarks.memory (make bench)",
        "cgroup": version,
        "headroom": HEADROOM,
        "load": {
            "users": USERS,
            "rate": RATE,
            "phases_s": dict(PHASES),
            "requests": load.get("requests"),
            "failures": load.get("failures"),
        },
        "machine": {"cores": os.cpu_count(), "load_average": round(os.getloadavg()[0], 1)},
        "services": results,
    }
    MEASURED.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
