"""Scenario actions that are not hooks: stop, start or restart one component, in either mode.

Local mode drives its own processes and servers (LocalStack). The compose stack drives its
containers with `docker compose`. The runner picks one by the mode `wayfinder up` chose.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import yaml

from wayfinder import compose_mode
from wayfinder.local.processes import ProcessSpec
from wayfinder.local.stack import HTTP_SERVICES, STORE, WORKERS, LocalStack

MODULES = {name: (module, "serve") for name, module in HTTP_SERVICES}
MODULES.update({name: (module, command) for name, module, command in WORKERS})

# A scenario file's component -> the compose service. The services, Redis and Postgres have the
# same names there; "telemetry" is what the shop exports to: the collector (local mode: the store).
COMPOSE_SERVICES = {"telemetry": "otel-collector"}

# `up --wait` waits for the healthcheck, whose start period is 30 s and retries 6 x 10 s.
COMPOSE_TIMEOUT_S = 180.0


class ComponentError(RuntimeError):
    """A component could not be stopped, started or restarted."""


class Components(Protocol):
    """What the runner asks of a mode."""

    def stop(self, component: str) -> None: ...

    def start(self, component: str) -> None: ...

    def restart(self, component: str, env: dict[str, str]) -> None:
        """A new release of one service: the same code under new settings (service.version, sampler);
        an empty `env` rolls it back to what the mode starts it with."""


class LocalComponents:
    """Local mode's processes and servers, through LocalStack's own tables."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack

    def _spec(self, name: str, extra_env: dict[str, str]) -> ProcessSpec:
        module, command = MODULES[name]
        return ProcessSpec(
            name, [sys.executable, "-m", module, command], {**self.stack.service_env(name), **extra_env}
        )

    def stop(self, component: str) -> None:
        if component == "redis":
            self.stack.redis.stop()
        elif component == "postgres":
            self.stack.postgres.stop()
        elif component == "telemetry":
            self.stack.processes.stop(STORE)
        else:
            self.stack.processes.stop(component)

    def start(self, component: str, extra_env: dict[str, str] | None = None) -> None:
        if component == "redis":
            self.stack.redis.start()
        elif component == "postgres":
            self.stack.postgres.start()
        elif component == "telemetry":
            c = self.stack.config
            command = [sys.executable, "-m", "wayfinder.store", "--db", str(c.store_db)]
            command += ["--port", str(c.store_port), "--host", "127.0.0.1"]
            self.stack.processes.start(ProcessSpec(STORE, command, dict(os.environ)))
        else:
            self.stack.processes.start(self._spec(component, extra_env or {}))

    def restart(self, component: str, env: dict[str, str]) -> None:
        self.stack.processes.stop(component)
        self.start(component, env)


class ComposeComponents:
    """The compose stack's containers. Output is not shown: the runner's log must not narrate a
    drill, and a failure raises ComponentError with the command to rerun by hand."""

    def __init__(self, project_dir: Path, runner: compose_mode.Runner = compose_mode.quiet_run) -> None:
        self.project_dir = Path(project_dir)
        self.runner = runner

    @staticmethod
    def service(component: str) -> str:
        return COMPOSE_SERVICES.get(component, component)

    def _compose(self, *args: str, overrides: tuple[Path, ...] = ()) -> None:
        argv = compose_mode.compose_command(self.project_dir, *args, overrides=overrides)
        code = self.runner(argv, cwd=self.project_dir, timeout=COMPOSE_TIMEOUT_S)
        if code != 0:
            raise ComponentError(f"`{' '.join(argv)}` exited {code}")

    def stop(self, component: str) -> None:
        self._compose("stop", self.service(component))

    def start(self, component: str) -> None:
        self._compose("start", self.service(component))

    def restart(self, component: str, env: dict[str, str]) -> None:
        # `up` recreates a container whose configuration changed: with the override, the release's
        # settings; without it (the rollback), the compose file's own again. Same image, no build,
        # and nothing it depends on is touched.
        service = self.service(component)
        up = ("up", "--detach", "--no-deps", "--no-build", "--wait", service)
        if not env:
            self._compose(*up)
            return
        with _override(service, env) as path:
            self._compose(*up, overrides=(path,))


@contextmanager
def _override(service: str, env: dict[str, str]) -> Iterator[Path]:
    """A compose file that sets `env` on one service, for the one command that reads it: removed
    afterwards, so no file in the checkout says what a drill changed."""
    document = {"services": {service: {"environment": dict(env)}}}
    handle, name = tempfile.mkstemp(prefix="wayfinder-release-", suffix=".yml")  # 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            yaml.safe_dump(document, out, sort_keys=True)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def for_mode(mode: str, stack: LocalStack, project_dir: Path | None) -> Components:
    if mode == "compose":
        if project_dir is None:
            raise ComponentError("the compose stack's actions need the checkout's folder")
        return ComposeComponents(project_dir)
    return LocalComponents(stack)
