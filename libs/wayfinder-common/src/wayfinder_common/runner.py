"""`python -m <service> serve|migrate|...`: the one command-line shape every deployable shares."""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from wayfinder_common.settings import ServiceSettings


def serve_http(app_import: str, settings: ServiceSettings) -> None:
    """Run a FastAPI app under uvicorn; SIGTERM drains requests, then telemetry flushes."""
    import uvicorn

    uvicorn.run(
        with_startup_heap_frozen(app_import),
        factory=True,
        host=settings.host,
        port=settings.port,
        # Our JSON-lines logging is set up with telemetry; uvicorn's dictConfig would replace it.
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        # Each request task starts from an empty context. Otherwise a request arriving before
        # uvicorn has finished the previous response on its keep-alive connection (e.g. a retry
        # pipelined by an impatient client) pauses reading; uvicorn resumes it, and starts the
        # queued request, from inside the finished request's task, and asyncio re-registers the
        # socket reader with a copy of that task's context (python/cpython#140947): every later
        # request on the connection inherited the old server span and became its INTERNAL child.
        reset_contextvars=True,
    )


def with_startup_heap_frozen(app_import: str) -> Callable[[], Any]:
    """The app factory named `module:function`, followed by a collection and `gc.freeze()`.

    Start-up builds a few hundred thousand objects that live as long as the process (modules,
    the app and its validators, the engine, the instrumentation). Measured under the benchmark's
    load, every full collection walked them all: 70-100 ms each, two to four every 20 s in each
    HTTP service, a pause for whichever requests were running and 0.3-0.8 ms of CPU per checkout
    per service. Frozen, the collector leaves them alone; what requests allocate is collected
    as before.
    """
    module_name, _, factory_name = app_import.partition(":")

    def factory() -> Any:
        app = getattr(importlib.import_module(module_name), factory_name)()
        gc.collect()
        gc.freeze()
        return app

    return factory


def run_cli(commands: dict[str, Callable[[], None]], argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {sys.argv[0]}")
    parser.add_argument("command", choices=sorted(commands))
    args = parser.parse_args(argv)
    commands[args.command]()
    return 0
