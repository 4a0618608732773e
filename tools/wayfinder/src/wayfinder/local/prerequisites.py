"""Finding the server binaries local mode needs, with one clear line when one is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class MissingPrerequisite(RuntimeError):
    """A program local mode needs is not installed; the message names the package."""


_POSTGRES_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install the 'postgresql' "
    "package (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16)"
)
_REDIS_HINT = (
    "redis-server not found: install the 'redis-server' package "
    "(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)"
)


def postgres_bin_dir() -> Path:
    """The folder holding initdb/pg_ctl: PATH first, then Debian's versioned folders, newest first."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise MissingPrerequisite(_POSTGRES_HINT)


def redis_server() -> Path:
    found = shutil.which("redis-server")
    if found is None:
        raise MissingPrerequisite(_REDIS_HINT)
    return Path(found)


_PROMETHEUS_HINT = (
    "prometheus not found: install the 'prometheus' package "
    "(Debian/Ubuntu: apt-get install prometheus; macOS: brew install prometheus)"
)


def prometheus_server() -> Path:
    """The Prometheus server binary (PATH first, then Debian's /usr/bin)."""
    found = shutil.which("prometheus") or shutil.which("prometheus", path="/usr/bin")
    if found is None:
        raise MissingPrerequisite(_PROMETHEUS_HINT)
    return Path(found)


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
