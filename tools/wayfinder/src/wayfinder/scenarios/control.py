"""The fault control: switch hooks on and off at runtime. A library, and a loopback HTTP API.

The HTTP API is not instrumented (it is a tool, not part of the shop), answers only loopback
peers and requires the installation's token on every route, reads included: the fault state
names the answer to a drill.
"""

from __future__ import annotations

import fcntl
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic import ValidationError
from wayfinder_common.faulthooks import HOOKS, FaultEntry
from wayfinder_common.faultstate import FaultState, ensure_token, read_state, write_state

from wayfinder.scenarios.paths import StatePaths

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class FaultControl:
    """Read-modify-write of the sealed state under a file lock (the runner and a CLI may race)."""

    def __init__(self, paths: StatePaths) -> None:
        self.paths = paths
        self.token = ensure_token(paths.token)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.paths.fault_state.with_name("state.lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        with lock.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def state(self) -> FaultState:
        return read_state(self.paths.fault_state, self.token)

    def switch_on(self, hook: str, scope: str, params: dict[str, Any]) -> FaultEntry:
        entry = FaultEntry(hook=hook, scope=scope, params=params)
        with self._locked():
            write_state(self.paths.fault_state, self.token, self.state().with_entry(entry))
        return entry

    def switch_off(self, hook: str, scope: str) -> None:
        with self._locked():
            write_state(self.paths.fault_state, self.token, self.state().without(hook, scope))

    def reset(self) -> None:
        with self._locked():
            write_state(self.paths.fault_state, self.token, FaultState())


def control_app(control: FaultControl) -> FastAPI:
    """GET/PUT/DELETE /faults: loopback only, `Authorization: Bearer <token>` on every route."""
    app = FastAPI(title="Wayfinder fault control", docs_url=None, redoc_url=None, openapi_url=None)

    def authorized(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
        if request.client is None or request.client.host not in LOOPBACK:
            raise HTTPException(403, "the fault control answers loopback callers only")
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(authorization.removeprefix("Bearer ").encode(), control.token.encode()):
            raise HTTPException(403, "wrong token")

    guarded = [Depends(authorized)]

    @app.get("/faults", dependencies=guarded)
    def list_faults() -> FaultState:
        """Every switched-on hook and scope."""
        return control.state()

    @app.get("/hooks", dependencies=guarded)
    def list_hooks() -> dict[str, str]:
        """The hooks that exist, with what each does."""
        return {name: hook.doc for name, hook in HOOKS.items()}

    @app.put("/faults/{hook}/{scope}", dependencies=guarded)
    def switch_on(hook: str, scope: str, params: dict[str, Any]) -> FaultEntry:
        """Switch one hook on for one scope (replaces that scope's earlier parameters)."""
        try:
            return control.switch_on(hook, scope, params)
        except ValidationError as exc:
            details = [
                {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]} for e in exc.errors()
            ]
            raise HTTPException(422, details) from None

    @app.delete("/faults/{hook}/{scope}", dependencies=guarded)
    def switch_off(hook: str, scope: str) -> FaultState:
        """Switch one hook off for one scope."""
        control.switch_off(hook, scope)
        return control.state()

    @app.delete("/faults", dependencies=guarded)
    def reset() -> FaultState:
        """Everything healthy again."""
        control.reset()
        return control.state()

    return app
