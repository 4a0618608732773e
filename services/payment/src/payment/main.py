"""payment's app factory and commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from wayfinder_common import migrations
from wayfinder_common.runner import serve_http
from wayfinder_common.web import create_app

from payment.api import router
from payment.clients import ProviderClient, RetryPolicy
from payment.models import SCHEMA
from payment.retry import Backoff, RetryBudget
from payment.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def build_app() -> FastAPI:
    settings = Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with httpx.Client(
            base_url=settings.payment_provider_url, timeout=settings.provider_attempt_timeout_s
        ) as http:
            app.state.provider = ProviderClient(
                http,
                RetryPolicy(
                    max_attempts=settings.provider_max_attempts,
                    attempt_timeout_s=settings.provider_attempt_timeout_s,
                    total_timeout_s=settings.provider_total_timeout_s,
                    backoff=Backoff(settings.backoff_base_s, settings.backoff_cap_s),
                ),
                RetryBudget(
                    settings.retry_budget_ratio,
                    settings.retry_budget_min_per_window,
                    settings.retry_budget_window_s,
                ),
            )
            yield

    app = create_app(settings, title="payment", lifespan=lifespan, database=True)
    app.include_router(router)
    return app


def serve() -> None:
    serve_http("payment.main:build_app", Settings())


def migrate() -> None:
    migrations.upgrade(Settings().database_url, MIGRATIONS, SCHEMA)
