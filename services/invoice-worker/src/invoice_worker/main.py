"""invoice-worker's commands: run the worker, migrate its schema, answer a health check."""

from __future__ import annotations

import sys
from pathlib import Path

from wayfinder_common import migrations
from wayfinder_common.jobs import INVOICE_QUEUE

from invoice_worker.models import SCHEMA
from invoice_worker.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# Between a crash and the next start: long enough not to spin, short next to a broker outage.
RESTART_PAUSE_S = 2.0


def worker() -> None:
    """The Celery worker in a child process, started again when it dies on its own.

    Celery 5.7 with kombu 5.7's Redis transport can end the whole worker when the broker goes
    away while a task is unacknowledged: closing the channel restores the message through the
    connection it has just closed ("Restoring 1 unacknowledged message(s)", then "Unrecoverable
    error: AttributeError(\"'NoneType' object has no attribute 'hostname'\")"). A Redis outage
    must not need an operator to bring invoicing back, so a crash is followed by a new worker.
    Only a signal ends it for good (`wayfinder down`, docker stop); the child shares our process
    group, so a kill of the group (the chaos tests' kill -9) takes both.
    """
    import signal
    import subprocess
    import threading

    stopping = threading.Event()
    child: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: object) -> None:
        stopping.set()
        if child and child[-1].poll() is None:
            child[-1].send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        child.append(subprocess.Popen([sys.executable, "-m", "invoice_worker", "celery-worker"]))
        code = child[-1].wait()
        if stopping.is_set() or code == 0:
            sys.exit(code)
        print(f"invoice worker exited with {code}; starting a new one", file=sys.stderr, flush=True)
        if stopping.wait(RESTART_PAUSE_S):
            sys.exit(code)


def celery_worker() -> None:
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
