"""The Celery application, and telemetry set up per worker process (exporters are not fork-safe)."""

from __future__ import annotations

import gc
import logging
from typing import Any

import httpx
from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_process_shutdown
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.db import make_engine, make_session_factory
from wayfinder_common.jobs import celery_config
from wayfinder_common.logs import configure_stdout_logging
from wayfinder_common.telemetry import instrument_celery, setup_telemetry, shutdown_telemetry

from invoice_worker.clients import InvoiceGateway
from invoice_worker.settings import Settings

settings = Settings()
app = Celery("invoice-worker", include=["invoice_worker.tasks"])
app.conf.update(celery_config(settings.redis_url))
configure_stdout_logging(settings.service_name, settings.log_level)
log = logging.getLogger(__name__)


class Resources:
    """Per-process handles, created after fork in the child that uses them."""

    sessions: sessionmaker[Session] | None = None
    gateway: InvoiceGateway | None = None


@worker_init.connect
def _freeze_parent_objects(**_: Any) -> None:
    # In the parent, before the pool forks: its objects are shared copy-on-write with the
    # children, and a child's cyclic GC writing their headers would copy every page it visits.
    gc.freeze()


@worker_process_init.connect
def _init_process(**_: Any) -> None:
    setup_telemetry(settings)
    instrument_celery()
    Resources.sessions = make_session_factory(make_engine(settings.database_url))
    Resources.gateway = InvoiceGateway(
        httpx.Client(base_url=settings.payment_provider_url, timeout=settings.gateway_timeout_s)
    )


@worker_process_shutdown.connect
def _shutdown_process(**_: Any) -> None:
    # Without this, spans buffered in a recycled child are lost (contrib #4916).
    shutdown_telemetry()
