"""Compose mode: start and stop the whole stack with `docker compose`, then say where to click.

Plain subprocess calls to the docker CLI (no SDK). Every function takes the command runner as an
argument so unit tests hand in a fake one; the default runner is ``run_command``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TextIO

from wayfinder.compose_env import ensure_admin_password, ensure_fault_group

COMPOSE_FILE = "docker-compose.yml"
INFO_TIMEOUT_S = 10.0

ENV_FILE = ".env"

# What to open once the stack is up: the variable docker-compose.yml publishes each port with
# (`127.0.0.1:${GRAFANA_PORT:-3000}:3000`), its default there, and the path to open.
PUBLISHED: dict[str, tuple[str, int, str]] = {
    "Grafana (start here)": ("GRAFANA_PORT", 3000, ""),
    "Checkout API docs": ("CHECKOUT_API_PORT", 8080, "/docs"),
    "Prometheus": ("PROMETHEUS_PORT", 9090, ""),
}


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a compose .env file (comments, blanks and surrounding quotes dropped)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def urls(project_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The URLs as compose publishes them: the shell's variables win over .env, as in compose;
    an unset or empty variable means the default (compose's `${VAR:-default}`)."""
    settings = read_env_file(Path(project_dir) / ENV_FILE) if project_dir is not None else {}
    settings.update(environ if environ is not None else os.environ)
    found = {}
    for name, (variable, default, path) in PUBLISHED.items():
        port = settings.get(variable) or str(default)
        found[name] = f"http://127.0.0.1:{port}{path}"
    return found


# The URLs with every port at its default.
URLS: dict[str, str] = urls(environ={})


def checkout_url(project_dir: Path | None = None) -> str:
    """checkout-api as compose publishes it (`wayfinder load` sends its traffic there)."""
    return urls(project_dir)["Checkout API docs"].removesuffix("/docs")


class Runner(Protocol):
    """Runs one command and returns its exit code (raises subprocess.TimeoutExpired on timeout)."""

    def __call__(
        self, argv: Sequence[str], *, cwd: Path | None = None, timeout: float | None = None
    ) -> int: ...


def run_command(argv: Sequence[str], *, cwd: Path | None = None, timeout: float | None = None) -> int:
    """The real runner: output goes straight to the terminal, the exit code comes back."""
    return subprocess.run(list(argv), cwd=cwd, timeout=timeout, check=False).returncode


def quiet_run(argv: Sequence[str], *, cwd: Path | None = None, timeout: float | None = None) -> int:
    completed = subprocess.run(
        list(argv),
        cwd=cwd,
        timeout=timeout,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return completed.returncode


def engine_available(
    runner: Runner = quiet_run,
    which: Callable[[str], str | None] = shutil.which,
    timeout: float = INFO_TIMEOUT_S,
) -> bool:
    """True when the docker CLI is installed and `docker info` reaches an engine in time."""
    return _docker_answers(["info"], runner, which, timeout)


def compose_available(
    runner: Runner = quiet_run,
    which: Callable[[str], str | None] = shutil.which,
    timeout: float = INFO_TIMEOUT_S,
) -> bool:
    """True when the docker client has the compose plugin (`docker compose version` works)."""
    return _docker_answers(["compose", "version"], runner, which, timeout)


def _docker_answers(
    args: list[str], runner: Runner, which: Callable[[str], str | None], timeout: float
) -> bool:
    if which("docker") is None:
        return False
    try:
        return runner(["docker", *args], timeout=timeout) == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


NO_DOCKER = (
    "no `docker` command: install Docker (https://docs.docker.com/engine/install/), "
    "or run without it: wayfinder up --mode local"
)
NO_COMPOSE = (
    "the docker client has no compose plugin (`docker compose version` fails): install it with "
    "`apt-get install docker-compose-plugin` (Docker's apt repository; Docker Desktop includes it)"
)
NO_ENGINE = (
    "no Docker engine answers (`docker info` fails): start it with `sudo systemctl start docker` "
    "(or open Docker Desktop), or run without it: wayfinder up --mode local"
)


def preflight(
    runner: Runner = quiet_run,
    which: Callable[[str], str | None] = shutil.which,
    timeout: float = INFO_TIMEOUT_S,
) -> list[str]:
    """What would stop `docker compose up` here, one line each with its fix; empty when nothing."""
    if which("docker") is None:
        return [NO_DOCKER]
    problems = []
    if not compose_available(runner, which, timeout):
        problems.append(NO_COMPOSE)
    if not engine_available(runner, which, timeout):
        problems.append(NO_ENGINE)
    return problems


def compose_command(project_dir: Path, *args: str, overrides: Sequence[Path] = ()) -> list[str]:
    """`docker compose` pinned to this checkout's compose file, whatever the current directory;
    `overrides` are compose files merged over it (per key for `environment`)."""
    project_dir = Path(project_dir)
    files = [str(project_dir / COMPOSE_FILE), *map(str, overrides)]
    return [
        "docker",
        "compose",
        "--project-directory",
        str(project_dir),
        *(arg for path in files for arg in ("--file", path)),
        *args,
    ]


def up(
    project_dir: Path,
    runner: Runner = run_command,
    out: TextIO = sys.stdout,
    environ: Mapping[str, str] | None = None,
    checks: Callable[[], list[str]] = preflight,
) -> int:
    """Check the docker client and engine, build and start every container, wait until all are
    healthy, then print the URLs."""
    project_dir = Path(project_dir)
    if not (project_dir / COMPOSE_FILE).is_file():
        print(f"No {COMPOSE_FILE} in {project_dir}: run this from a Wayfinder checkout.", file=out)
        return 2
    problems = checks()
    for problem in problems:
        print(f"wayfinder: {problem}", file=out)
    if problems:
        return 1
    ensure_admin_password(project_dir, out, environ)  # compose requires one; none is committed
    ensure_fault_group(project_dir, environ)  # the services read the fault state through it
    code = runner(compose_command(project_dir, "up", "--detach", "--build", "--wait"), cwd=project_dir)
    if code != 0:
        print(
            "The stack did not become healthy. See which container failed with\n"
            f"  {' '.join(compose_command(project_dir, 'ps', '--all'))}\n"
            f"  {' '.join(compose_command(project_dir, 'logs', '<service>'))}",
            file=out,
        )
        return code
    where = urls(project_dir, environ)
    width = max(len(name) for name in where)
    print("Wayfinder is up. Open:", file=out)
    for name, url in where.items():
        print(f"  {name.ljust(width)}  {url}", file=out)
    print("Then follow docs/stack.md, section 'Browse it in Grafana'.", file=out)
    return 0


def down(project_dir: Path, runner: Runner = run_command, remove_volumes: bool = False) -> int:
    """Stop and remove the containers (and, if asked, the data volumes)."""
    args = ["down", "--remove-orphans"]
    if remove_volumes:
        args.append("--volumes")
    return runner(compose_command(Path(project_dir), *args), cwd=Path(project_dir))
