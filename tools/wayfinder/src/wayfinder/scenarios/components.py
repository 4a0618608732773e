"""Scenario actions that are not hooks: stop, start or restart one component of local mode.

ADAPTER: uses LocalStack's own process table and servers directly. When `wayfinder stop|start
COMPONENT` lands, these three functions should call it instead.
"""

from __future__ import annotations

import os
import sys

from wayfinder.local.processes import ProcessSpec
from wayfinder.local.stack import HTTP_SERVICES, STORE, WORKERS, LocalStack

MODULES = {name: (module, "serve") for name, module in HTTP_SERVICES}
MODULES.update({name: (module, command) for name, module, command in WORKERS})


def _spec(stack: LocalStack, name: str, extra_env: dict[str, str]) -> ProcessSpec:
    module, command = MODULES[name]
    return ProcessSpec(
        name, [sys.executable, "-m", module, command], {**stack.service_env(name), **extra_env}
    )


def stop(stack: LocalStack, component: str) -> None:
    if component == "redis":
        stack.redis.stop()
    elif component == "postgres":
        stack.postgres.stop()
    elif component == "telemetry":
        stack.processes.stop(STORE)
    else:
        stack.processes.stop(component)


def start(stack: LocalStack, component: str, extra_env: dict[str, str] | None = None) -> None:
    if component == "redis":
        stack.redis.start()
    elif component == "postgres":
        stack.postgres.start()
    elif component == "telemetry":
        c = stack.config
        command = [
            sys.executable,
            "-m",
            "wayfinder.store",
            "--db",
            str(c.store_db),
            "--port",
            str(c.store_port),
        ]
        stack.processes.start(ProcessSpec(STORE, [*command, "--host", "127.0.0.1"], dict(os.environ)))
    else:
        stack.processes.start(_spec(stack, component, extra_env or {}))


def restart(stack: LocalStack, component: str, extra_env: dict[str, str]) -> None:
    """A new release of one service: the same code under a new service.version (and sampler)."""
    stack.processes.stop(component)
    start(stack, component, extra_env)
