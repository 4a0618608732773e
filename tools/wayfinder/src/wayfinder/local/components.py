"""`wayfinder stop|start COMPONENT`: take one part of local mode down on purpose, and back.

For scenarios that need a dependency gone and for chaos tests. `stop` is graceful by default
(SIGTERM: Redis writes its append-only file, Postgres shuts down cleanly, services flush their
telemetry); `--kill` is `kill -9` of the component's every process, the crash no code can
tidy up after.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from wayfinder.local.config import LocalConfig
from wayfinder.local.processes import ProcessSpec, proc_stats
from wayfinder.local.stack import HTTP_SERVICES, WORKERS, LocalStack
from wayfinder.local.waiting import wait_for

SERVERS = ("postgres", "redis")
# Process name -> the command that runs it, as `up` starts it.
SERVICE_COMMANDS: dict[str, list[str]] = {
    **{name: [module, "serve"] for name, module in HTTP_SERVICES},
    **{name: [module, command] for name, module, command in WORKERS},
}
COMPONENTS = (*SERVERS, *SERVICE_COMMANDS)


def register(sub: Any) -> None:
    stop = sub.add_parser("stop", help="stop one local-mode component (postgres, redis or a service)")
    stop.add_argument("component", choices=COMPONENTS)
    stop.add_argument("--kill", action="store_true", help="kill -9 every process of it (a crash)")
    stop.set_defaults(handler=cmd_stop)
    start = sub.add_parser("start", help="start one local-mode component again")
    start.add_argument("component", choices=COMPONENTS)
    start.set_defaults(handler=cmd_start)


def cmd_stop(args: argparse.Namespace) -> int:
    stop_component(LocalStack(LocalConfig(), report=lambda _: None), args.component, kill=args.kill)
    print(f"{args.component} {'killed' if args.kill else 'stopped'}")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    try:
        start_component(LocalStack(LocalConfig(), report=lambda _: None), args.component)
    except TimeoutError as exc:
        print(f"wayfinder: {exc}", file=sys.stderr)
        return 1
    print(f"{args.component} started")
    return 0


def stop_component(stack: LocalStack, name: str, kill: bool = False) -> None:
    if name == "postgres" and kill:
        _kill_postgres(stack)
    elif name == "postgres":
        stack.postgres.stop()
    elif name == "redis" and kill:
        _kill_redis(stack)
    elif name == "redis":
        stack.redis.stop()
    elif kill:
        pid = stack.processes.pid(name)
        if pid is not None:
            # The whole group: Celery's parent and its pool children die together.
            _kill_all(_group_members(pid) | {pid})
            stack.processes.pid_file(name).unlink(missing_ok=True)
    else:
        stack.processes.stop(name)


def start_component(stack: LocalStack, name: str) -> None:
    if name == "postgres":
        stack.postgres.start()
    elif name == "redis":
        stack.redis.start()
    else:
        module, command = SERVICE_COMMANDS[name]
        stack.processes.start(
            ProcessSpec(name, [sys.executable, "-m", module, command], stack.service_env(name))
        )


def _kill_postgres(stack: LocalStack) -> None:
    try:
        postmaster = int((stack.postgres.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return
    # Backends outliving their postmaster would hold its shared memory and block the restart.
    _kill_all({postmaster} | _children(postmaster))
    # Until its parent reaps it, the dead postmaster is a zombie whose pid still answers kill(0):
    # its lock files would make `start` (and Postgres itself) believe it still runs.
    for lock in [
        stack.postgres.data_dir / "postmaster.pid",
        *stack.postgres.data_dir.glob(".s.PGSQL.*.lock"),
    ]:
        lock.unlink(missing_ok=True)


def _kill_redis(stack: LocalStack) -> None:
    pid = stack.redis.pid()
    if pid is not None:
        _kill_all({pid})


def _kill_all(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not any(_alive(pid) for pid in pids), f"processes {sorted(pids)} to die", 15)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is ours (a Popen child of this process)
        return False
    return True


def _children(parent: int) -> set[int]:
    return {pid for pid, ppid, _, _ in proc_stats() if ppid == parent}


def _group_members(group: int) -> set[int]:
    return {pid for pid, _, pgid, _ in proc_stats() if pgid == group}
