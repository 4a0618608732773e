"""invoice-worker's commands: run the worker, migrate its schema, answer a health check."""

from __future__ import annotations

import sys
from pathlib import Path

from wayfinder_common import migrations
from wayfinder_common.jobs import INVOICE_QUEUE

from invoice_worker.models import SCHEMA
from invoice_worker.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def worker() -> None:
    from invoice_worker.celery_app import app, settings

    app.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            "--pool=prefork",
            f"--concurrency={settings.concurrency}",
            "--queues",
            INVOICE_QUEUE,
            "--without-gossip",
            "--without-mingle",
        ]
    )


def migrate() -> None:
    migrations.upgrade(Settings().database_url, MIGRATIONS, SCHEMA)


def healthcheck() -> None:
    """Exit 0 when a worker answers a ping over the broker."""
    from invoice_worker.celery_app import app

    replies = app.control.ping(timeout=2.0)
    if not replies:
        print("no invoice worker answered the ping", file=sys.stderr)
        sys.exit(1)
    print(f"{len(replies)} worker(s) answered")
