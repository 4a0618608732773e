"""checkout-api's app factory, its latency metric and commands."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response
from opentelemetry import metrics
from wayfinder_common import migrations
from wayfinder_common.metrics import LATENCY_BUCKETS_S
from wayfinder_common.runner import serve_http
from wayfinder_common.web import create_app, request_outcome

from checkout_api import sweeper
from checkout_api.api import router
from checkout_api.clients import InventoryClient, PaymentClient
from checkout_api.models import SCHEMA
from checkout_api.service import Clients, Scope
from checkout_api.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

checkout_duration = metrics.get_meter("checkout-api").create_histogram(
    "checkout.request.duration",
    unit="s",
    description="checkout-api request latency by route, region, account tier and outcome",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_S,
)


async def record_checkout_latency(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """The article's "route metric": latency by route, region and tier, with exemplars of the trace."""
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    if route is None:  # 404s for unknown paths would make the route label unbounded
        return response
    attributes: dict[str, str] = {
        "http.route": getattr(route, "path", "unknown"),
        # A made-up method must not mint a new series (semantic conventions' _OTHER).
        "http.request.method": request.method if request.method in KNOWN_METHODS else "_OTHER",
        # Settled once by the shared error handlers: the same code as the body and the span.
        "checkout.outcome": request_outcome(request, response).code,
    }
    scope: Scope | None = getattr(request.state, "scope", None)
    if scope is not None:
        attributes.update(scope.labels())
    # Recorded while the server span is current, so the SDK attaches it as the exemplar.
    checkout_duration.record(time.perf_counter() - started, attributes)
    return response


def build_app() -> FastAPI:
    settings = Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with (
            httpx.Client(base_url=settings.inventory_url, timeout=settings.inventory_timeout_s) as inv,
            httpx.Client(base_url=settings.payment_url, timeout=settings.payment_timeout_s) as pay,
        ):
            app.state.clients = Clients(InventoryClient(inv), PaymentClient(pay))
            stop_sweeper = sweeper.start(
                app.state.session_factory,
                app.state.clients,
                settings.abandon_after_s,
                settings.sweep_interval_s,
            )
            yield
            stop_sweeper.set()

    app = create_app(settings, title="checkout-api", lifespan=lifespan, database=True)
    app.state.settings = settings
    app.middleware("http")(record_checkout_latency)
    app.include_router(router)
    return app


def serve() -> None:
    serve_http("checkout_api.main:build_app", Settings())


def migrate() -> None:
    migrations.upgrade(Settings().database_url, MIGRATIONS, SCHEMA)
