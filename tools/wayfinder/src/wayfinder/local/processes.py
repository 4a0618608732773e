"""Background processes with pid files, so `wayfinder down` (another process) can stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    # A cgroup folder to start in (the memory benchmark only): pages are charged to the cgroup
    # that first touches them, so the process joins it before exec, not after it started.
    cgroup: Path | None = None


def _argv(spec: ProcessSpec) -> list[str]:
    """The command line, behind a shell that moves itself into the cgroup and then execs it."""
    if spec.cgroup is None:
        return spec.argv
    join = 'echo $$ > "$0/cgroup.procs" && exec "$@"'
    return ["/bin/sh", "-c", join, str(spec.cgroup), *spec.argv]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return finished == 0


class ProcessTable:
    def __init__(self, run_dir: Path, log_dir: Path) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, spec: ProcessSpec) -> int:
        """Start detached in its own session (so a group kill reaches Celery's children too)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        running = self.pid(spec.name)
        if running is not None:
            return running
        with self.log_file(spec.name).open("ab") as log:
            process = subprocess.Popen(
                _argv(spec),
                env=spec.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file(spec.name).write_text(str(process.pid))
        return process.pid

    def pid(self, name: str) -> int | None:
        """The pid of a running process by that name, or None (stale pid files are removed)."""
        path = self.pid_file(name)
        try:
            pid = int(path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _alive(pid):
            return pid
        path.unlink(missing_ok=True)
        return None

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.run_dir.glob("*.pid")) if self.run_dir.exists() else []

    def stop(self, name: str, timeout_s: float = 15.0) -> None:
        """SIGTERM the process group (flushes telemetry), SIGKILL what is left at the deadline."""
        pid = self.pid(name)
        if pid is None:
            return
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.1)
        if _group_alive(pid):
            _signal_group(pid, signal.SIGKILL)
            kill_deadline = time.monotonic() + 5
            while time.monotonic() < kill_deadline and _group_alive(pid):
                time.sleep(0.05)
        self.pid_file(name).unlink(missing_ok=True)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _group_alive(pgid: int) -> bool:
    """True while any process of the group is alive (a worker's children outlive its parent)."""
    if _alive(pgid):
        return True
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Members left are zombies of other parents or still exiting; check /proc where we can.
    if not Path("/proc").exists():
        return True
    return any(group == pgid and state != "Z" for _, _, group, state in proc_stats())


def proc_stats() -> list[tuple[int, int, int, str]]:
    """(pid, parent pid, process group, state) of every process, from /proc (Linux)."""
    stats = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        stats.append((int(entry.name), int(fields[1]), int(fields[2]), fields[0]))
    return stats
