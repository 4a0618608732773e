"""`wayfinder setup`: install what local mode and the tests need, or say in one line what to install.

Run by `make up` and `make test` before anything else. With everything present it only looks
(no subprocess, well under a second). What is missing is installed with the OS package manager
when that needs no prompt: apt-get as root or through passwordless sudo, brew on macOS.
Otherwise one line names the packages and the command.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from wayfinder.local.prerequisites import (
    POSTGRES_USER,
    REQUIREMENTS,
    Host,
    MissingPrerequisite,
    Requirement,
)

Runner = Callable[[Sequence[str]], int]
Report = Callable[[str], None]

APT_ENV = ["env", "DEBIAN_FRONTEND=noninteractive"]
# A system account, as Debian's postgresql package makes it: no login, no home.
USERADD = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]


@dataclass(frozen=True)
class Plan:
    """What is missing, the commands that would install it, or the one line saying what to do."""

    missing: tuple[str, ...]
    commands: tuple[tuple[str, ...], ...]
    advice: str | None = None


def missing(host: Host) -> list[Requirement]:
    found: list[Requirement] = []
    for requirement in REQUIREMENTS:
        try:
            requirement.find(host)
        except MissingPrerequisite:
            found.append(requirement)
    return found


def plan(host: Host) -> Plan:
    """Decide, without running anything that changes the machine."""
    absent = missing(host)
    names = tuple(r.name for r in absent)
    commands: list[tuple[str, ...]] = []
    advice: str | None = None
    if absent:
        commands, advice = _install_commands(host, absent)
    if _needs_postgres_user(host, absent):
        # initdb and postgres refuse root; as root we run them as this user (servers.py).
        if host.is_root and host.system == "Linux" and host.which("useradd"):
            commands.append((*USERADD, POSTGRES_USER))
        elif advice is None:
            advice = (
                f"running as root needs a '{POSTGRES_USER}' user to run the Postgres server: "
                f"create one (useradd --system {POSTGRES_USER}) or run as a normal user"
            )
    return Plan(names, tuple(commands), advice)


def _needs_postgres_user(host: Host, absent: list[Requirement]) -> bool:
    # Debian's postgresql package creates the user itself.
    installs_postgres = any(r.name == "postgres" for r in absent)
    return host.is_root and not installs_postgres and not host.user_exists(POSTGRES_USER)


def _install_commands(host: Host, absent: list[Requirement]) -> tuple[list[tuple[str, ...]], str | None]:
    apt = _unique(r.apt for r in absent)
    brew = _unique(r.brew for r in absent)
    what = ", ".join(r.name for r in absent)
    if host.system == "Darwin":
        if host.which("brew"):
            return [("brew", "install", *brew)], None
        return [], f"missing {what}: install Homebrew (https://brew.sh), then: brew install {' '.join(brew)}"
    if host.which("apt-get"):
        prefix: tuple[str, ...] | None = None
        if host.is_root:
            prefix = ()
        elif host.passwordless_sudo():
            prefix = ("sudo", "-n")
        if prefix is not None:
            install = ("apt-get", "install", "-y", "-qq", "--no-install-recommends", *apt)
            return [(*prefix, "apt-get", "update", "-qq"), (*prefix, *APT_ENV, *install)], None
        return [], f"missing {what}: install them with: sudo apt-get install {' '.join(apt)}"
    return [], f"missing {what}: install them with your package manager (Debian: {' '.join(apt)})"


def _unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def run_command(argv: Sequence[str]) -> int:
    """The real runner: the package manager's own output goes to the terminal."""
    return subprocess.run(list(argv), check=False).returncode


def ensure(
    host_factory: Callable[[], Host] = Host,
    runner: Runner = run_command,
    report: Report = print,
    dry_run: bool = False,
) -> int:
    """Install what is missing; 0 when everything is there afterwards, 1 with one line otherwise."""
    todo = plan(host_factory())
    if not todo.commands and todo.advice is None:
        return 0
    if todo.missing and todo.commands:
        report(f"wayfinder setup: installing {', '.join(todo.missing)}")
    for command in todo.commands:
        report(f"wayfinder setup: {' '.join(command)}")
        if dry_run:
            continue
        if runner(command) != 0:
            report(f"wayfinder setup: `{' '.join(command)}` failed")
            return 1
    if todo.advice is not None:
        report(f"wayfinder setup: {todo.advice}")
        return 1
    if dry_run:
        return 0
    # Look again: a package that installed but did not provide the program is a failure too.
    after = plan(host_factory())
    if after.missing or after.commands:
        report(f"wayfinder setup: still missing after installing: {', '.join(after.missing) or 'user'}")
        return 1
    return 0


def describe(host: Host) -> list[str]:
    """Where each program was found (for `wayfinder setup --verbose`)."""
    lines = []
    for requirement in REQUIREMENTS:
        try:
            lines.append(f"{requirement.name:<13} {requirement.find(host)}")
        except MissingPrerequisite as exc:
            lines.append(f"{requirement.name:<13} MISSING ({exc})")
    return lines
