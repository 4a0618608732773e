"""payment-provider's app factory and commands."""

from __future__ import annotations

from fastapi import FastAPI
from wayfinder_common.faults import FaultBook
from wayfinder_common.faultstate import fault_reader
from wayfinder_common.runner import serve_http
from wayfinder_common.web import create_app

from payment_provider.api import router
from payment_provider.service import REGION_DEFAULTS, Provider
from payment_provider.settings import Settings


def build_app() -> FastAPI:
    settings = Settings()
    faults = FaultBook(REGION_DEFAULTS, seed=settings.fault_seed)
    app = create_app(settings, title="payment-provider (simulated)")
    app.state.provider = Provider(faults, settings.hang_s, fault_reader())
    app.include_router(router)
    return app


def serve() -> None:
    serve_http("payment_provider.main:build_app", Settings())
