"""Memory cgroups for the memory benchmark: one per service, read the way a container limit counts.

cgroup v2 where its memory controller is enabled (`memory.peak`, `memory.current`,
`memory.stat`); v1 otherwise (`memory.max_usage_in_bytes`, `memory.usage_in_bytes`,
`memory.stat`). Both need root (or a delegated subtree) to create child groups.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


class CgroupUnavailable(RuntimeError):
    """No memory cgroup we may create children in."""


@dataclass(frozen=True)
class Flavour:
    """Where one cgroup version keeps the figures we read."""

    version: str
    peak: str
    current: str
    anon: str  # memory.stat key: anonymous memory (heap, stacks)
    file: str  # memory.stat key: page cache charged to the group
    mapped: str  # memory.stat key: page cache the group's processes have mapped


V2 = Flavour("v2", "memory.peak", "memory.current", "anon", "file", "file_mapped")
V1 = Flavour("v1", "memory.max_usage_in_bytes", "memory.usage_in_bytes", "rss", "cache", "mapped_file")


def _own_path(controller: str) -> str | None:
    """This process's cgroup path for a v1 controller, or for v2 when `controller` is ""."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controller == "" and controllers == "") or controller in controllers.split(","):
            return path
    return None


def _v2_parent() -> Path | None:
    for mount in (ROOT, ROOT / "unified"):
        controllers = mount / "cgroup.controllers"
        if controllers.exists() and "memory" in controllers.read_text().split():
            own = _own_path("")
            return mount / own.lstrip("/") if own is not None else None
    return None


def parent_group() -> tuple[Flavour, Path]:
    """The cgroup version to use and the folder to create our groups under (our own group)."""
    parent = _v2_parent()
    if parent is not None:
        return V2, parent
    own = _own_path("memory")
    if own is not None and (ROOT / "memory").is_dir():
        return V1, ROOT / "memory" / own.lstrip("/")
    raise CgroupUnavailable("no memory cgroup controller (v2 memory.peak or v1 memory) is mounted")


class ServiceGroups:
    """A folder of per-service memory cgroups under this process's own group, removed at the end."""

    def __init__(self, names: list[str], label: str) -> None:
        self.flavour, parent = parent_group()
        self.base = parent / f"{label}-{os.getpid()}"
        try:
            self.base.mkdir()
            if self.flavour is V2:
                # Children get a memory controller only when their parent hands it down.
                (self.base / "cgroup.subtree_control").write_text("+memory")
            self.paths = {name: self.base / name for name in names}
            for path in self.paths.values():
                path.mkdir()
        except OSError as exc:
            self.remove()
            raise CgroupUnavailable(f"cannot create memory cgroups under {parent}: {exc}") from exc

    def pids(self, name: str) -> list[int]:
        text = (self.paths[name] / "cgroup.procs").read_text()
        return [int(pid) for pid in text.split()]

    def peak(self, name: str) -> int:
        return int((self.paths[name] / self.flavour.peak).read_text())

    def current(self, name: str) -> int:
        return int((self.paths[name] / self.flavour.current).read_text())

    def stat(self, name: str) -> dict[str, int]:
        lines = (self.paths[name] / "memory.stat").read_text().splitlines()
        return {key: int(value) for key, value in (line.split() for line in lines)}

    def remove(self) -> None:
        """rmdir every group (their processes have ended; charged page cache moves to the parent)."""
        for path in [*getattr(self, "paths", {}).values(), self.base]:
            deadline = time.monotonic() + 10
            while path.exists():
                try:
                    path.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.2)  # an exiting process may still be listed for a moment


def rss_file(pid: int) -> int:
    """Bytes of files a process has mapped and resident (RssFile), 0 if it has gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssFile:"):
                return int(line.split()[1]) * 1024
    return 0
