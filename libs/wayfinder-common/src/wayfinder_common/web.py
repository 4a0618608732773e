"""The FastAPI pieces every HTTP service shares: app factory, error handlers, health, traceresponse.

Every request's outcome is decided here, once: the error handlers settle it (status, `error`
code, span status) on `request.state.outcome`, and a service's own metrics read it with
`request_outcome` instead of deciding again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from wayfinder_common.db import is_database_unavailable, make_engine, make_session_factory, ping
from wayfinder_common.errors import DependencyUnavailable, Outcome, WayfinderError, error_body
from wayfinder_common.regression import release_regression
from wayfinder_common.routecrash import crashes
from wayfinder_common.settings import ServiceSettings
from wayfinder_common.telemetry import current_trace_id, mark_outcome, setup_telemetry, shutdown_telemetry

log = logging.getLogger(__name__)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    lifespan: Lifespan | None = None,
    database: bool = False,
) -> FastAPI:
    """A FastAPI app with telemetry, the error contract, /healthz, /readyz and traceresponse.

    With `database=True` the app gets an engine, `app.state.session_factory` (for SessionDep)
    and a readiness check that pings Postgres. The generic fault hooks (route.crash,
    release.regression) read the sealed fault state: no endpoint switches them.
    """
    telemetry = setup_telemetry(settings)
    engine = make_engine(settings.database_url) if database else None

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is not None:
            app.state.session_factory = make_session_factory(engine)
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            if engine is not None:
                engine.dispose()
            shutdown_telemetry()

    app = FastAPI(title=title, version=settings.service_version, lifespan=_lifespan)
    install_error_handlers(app)
    # Starlette nests later middleware outside earlier ones: crashes become a settled 500 first,
    # inside traceresponse and inside every middleware a service adds (its metrics see the 500).
    app.middleware("http")(_after_handler)
    app.middleware("http")(_settle_unexpected)
    app.middleware("http")(_traceresponse)
    app.middleware("http")(release_regression(settings))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process serves requests."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        """Readiness: the dependencies this service cannot work without answer."""
        if engine is not None:
            ping(engine)
        return {"status": "ready"}

    if telemetry is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
            # Health probes every few seconds would drown the traces that matter.
            excluded_urls="/healthz,/readyz",
            # The ASGI send/receive spans add two rows per request and answer no incident question.
            exclude_spans=["send", "receive"],
        )
    return app


async def _after_handler(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Runs once the handler answered: the route.crash hook turns a share of answers into a bug."""
    response = await call_next(request)
    if crashes(request.scope.get("route")):
        raise RuntimeError("the response could not be completed")
    return response


async def _traceresponse(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """W3C Trace Context `traceresponse`: the caller learns which trace served it."""
    response = await call_next(request)
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        response.headers["traceresponse"] = (
            f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
        )
    return response


def install_error_handlers(app: FastAPI) -> None:
    """The one place domain errors become JSON bodies with a stable `error` code."""

    @app.exception_handler(WayfinderError)
    async def _domain_error(request: Request, exc: WayfinderError) -> JSONResponse:
        outcome = settle(request, Outcome.of_error(exc))
        headers = {}
        if isinstance(exc, DependencyUnavailable):
            headers["Retry-After"] = str(exc.retry_after_s)
        return JSONResponse(
            error_body(outcome.code, exc.message, exc.details, current_trace_id()),
            status_code=outcome.status,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Field locations and messages only: echoing `input` could copy an email into the body.
        details = [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()
        ]
        outcome = settle(request, Outcome(422, "validation_failed"))
        return JSONResponse(
            error_body(outcome.code, "the request is not valid", details, current_trace_id()),
            status_code=outcome.status,
        )

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database_error(request: Request, exc: Exception) -> JSONResponse:
        if not is_database_unavailable(exc):
            return unexpected_error(request, exc)
        log.warning("database unavailable", extra={"error.type": "database_unavailable"})
        return await _domain_error(
            request, DependencyUnavailable("the database is unavailable", code="database_unavailable")
        )

    # Starlette runs an `Exception` handler in its outermost middleware, outside every middleware
    # a service adds: `_settle_unexpected` answers crashes first; this only sees a middleware's own.
    app.exception_handler(Exception)(unexpected_error)


def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A crash: logged with its stack, a 500 `internal_error`, the exception on the server span."""
    log.exception("unhandled error", extra={"error.type": type(exc).__name__})
    outcome = settle(request, Outcome.unexpected(), exc)
    return JSONResponse(
        error_body(outcome.code, "unexpected error", None, current_trace_id()), status_code=outcome.status
    )


def settle(request: Request, outcome: Outcome, exc: BaseException | None = None) -> Outcome:
    """Decide this request's outcome: kept for every reader, put on the server span once."""
    request.state.outcome = outcome
    mark_outcome(trace.get_current_span(), outcome, exc)
    return outcome


def request_outcome(request: Request, response: Response) -> Outcome:
    """The outcome the handlers settled; a response none of them touched is a plain success."""
    settled: Outcome | None = getattr(request.state, "outcome", None)
    return settled if settled is not None else Outcome.of_status(response.status_code)


async def _settle_unexpected(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    try:
        return await call_next(request)
    except Exception as exc:
        return unexpected_error(request, exc)


def _session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        yield session


# Route handlers take `session: SessionDep`; the factory is put on app.state by the service's lifespan.
SessionDep = Annotated[Session, Depends(_session)]
