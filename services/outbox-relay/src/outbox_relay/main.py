"""outbox-relay's loop and commands: publish new events, finish or republish published ones."""

from __future__ import annotations

import functools
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery import Celery
from wayfinder_common.db import make_engine, make_session_factory
from wayfinder_common.holds import hold
from wayfinder_common.jobs import INVOICE_QUEUE, celery_config
from wayfinder_common.telemetry import instrument_celery, setup_telemetry, shutdown_telemetry

from outbox_relay.gauges import register_gauges
from outbox_relay.reconcile import Reconciler
from outbox_relay.redrive import redrive_from_cli
from outbox_relay.relay import publish_batch
from outbox_relay.settings import Settings

log = logging.getLogger(__name__)


def _celery_producer(broker_url: str) -> Celery:
    producer = Celery("outbox-relay")
    producer.conf.update(celery_config(broker_url))
    return producer


def _queue_is_empty(producer: Celery) -> Callable[[], bool]:
    """Whether the invoice queue holds no waiting message.

    A plain declare, not a passive one: Redis deletes an empty list, and kombu then answers a
    passive declare with "no queue". Declaring the queue the workers consume changes nothing.
    """

    def check() -> bool:
        with producer.pool.acquire(block=True, timeout=5) as connection:
            # One try: with Redis down this must fail fast, not reconnect forever.
            connection.ensure_connection(max_retries=1)
            declared = connection.default_channel.queue_declare(INVOICE_QUEUE)
        return int(declared.message_count) == 0

    return check


def _celery_sender(producer: Celery) -> Any:

    def send(task_name: str, payload: dict[str, Any], headers: dict[str, Any]) -> None:
        producer.send_task(
            task_name,
            kwargs=payload,
            queue=INVOICE_QUEUE,
            headers=headers,
            # Fail fast while Redis is down: the row stays in the outbox and is retried by us.
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
        )

    return send


def run() -> None:
    settings = Settings()
    setup_telemetry(settings)
    # Sending by task name works across processes only if this producer is instrumented too.
    instrument_celery()
    sessions = make_session_factory(make_engine(settings.database_url))
    register_gauges(sessions)
    producer = _celery_producer(settings.redis_url)
    send = _celery_sender(producer)
    checkpoint = functools.partial(hold, settings)
    reconciler = Reconciler(
        sessions,
        send,
        settings.republish_after_s,
        settings.max_republications,
        settings.batch_size,
        checkpoint,
        _queue_is_empty(producer),
    )
    heartbeat = Path(settings.heartbeat_file)
    # An Event, not a flag + sleep: SIGTERM wakes the wait at once, so shutdown is prompt.
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    log.info("outbox relay started", extra={"queue.name": INVOICE_QUEUE})
    backoff = settings.poll_interval_s
    next_reconcile = time.monotonic()
    while not stopping.is_set():
        heartbeat.touch()
        try:
            published, broker_failed = publish_batch(sessions, send, settings.batch_size, checkpoint)
            if not broker_failed and time.monotonic() >= next_reconcile:
                next_reconcile = time.monotonic() + settings.reconcile_interval_s
                _, _, broker_failed = reconciler.run_once()
        except Exception as exc:  # Postgres down: same treatment as the broker, back off and retry
            log.warning("outbox poll failed", extra={"error.type": type(exc).__name__})
            published, broker_failed = 0, True
        backoff = min(settings.max_backoff_s, backoff * 2) if broker_failed else settings.poll_interval_s
        if published < settings.batch_size or broker_failed:
            stopping.wait(backoff)
    shutdown_telemetry()


def redrive() -> None:
    """Re-drive every recorded invoice failure (or the orders named in argv): one command."""
    redrive_from_cli(Settings())


def healthcheck() -> None:
    settings = Settings()
    path = Path(settings.heartbeat_file)
    if not path.exists() or time.time() - path.stat().st_mtime > settings.heartbeat_stale_s:
        print("outbox relay heartbeat is stale", file=sys.stderr)
        sys.exit(1)
    print("outbox relay is alive")
