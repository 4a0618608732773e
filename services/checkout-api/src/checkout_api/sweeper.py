"""The abandoned-checkout sweeper: give back stock and payment holds that no order will use.

A checkout can stop between reserving and committing and never be retried: the process was
killed, a release call failed, the client gave up after a 503. Its key then stays in_progress
or retryable with no order. After `abandon_after_s` the sweeper fences the key (no attempt can
complete it any more), releases the reservation and voids the authorization, both idempotent.
A retry with that key afterwards gets 409 `checkout_abandoned`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import timedelta

from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.errors import NotFound, WayfinderError
from wayfinder_common.telemetry import business_span, record_error

from checkout_api.models import IdempotencyKey, Order
from checkout_api.service import Clients

log = logging.getLogger(__name__)
tracer = trace.get_tracer("checkout-api")


def sweep_once(sessions: sessionmaker[Session], clients: Clients, abandon_after_s: float) -> int:
    """Compensate every abandoned checkout found now; returns how many were settled."""
    # The scan runs every few seconds: traced, it would be a stream of empty root spans.
    with suppress_instrumentation(), sessions.begin() as session:
        stale = and_(
            IdempotencyKey.state.in_(("in_progress", "retryable")),
            IdempotencyKey.updated_at < func.now() - timedelta(seconds=abandon_after_s),
        )
        rows = session.scalars(
            select(IdempotencyKey)
            .where(or_(IdempotencyKey.state == "abandoning", stale))
            .where(~exists().where(Order.order_id == IdempotencyKey.order_id))
            .with_for_update(skip_locked=True)
            .limit(20)
        ).all()
        for row in rows:
            row.state = "abandoning"
            row.attempt_id = None  # fences out the attempt, should it still be alive
        found = [(row.key, row.order_id) for row in rows]
    return sum(_compensate(sessions, clients, key, order_id) for key, order_id in found)


def _compensate(sessions: sessionmaker[Session], clients: Clients, key: str, order_id: str) -> bool:
    with business_span(tracer, "checkout.abandon", **{"order.id": order_id}) as span:
        try:
            with contextlib.suppress(NotFound):  # never reserved: nothing to give back
                clients.inventory.release(order_id)
            clients.payment.void(order_id)
        except WayfinderError as exc:
            # Still `abandoning`: the next sweep tries again.
            record_error(span, exc.code)
            log.warning(
                "abandoned checkout not settled yet", extra={"order.id": order_id, "error.type": exc.code}
            )
            return False
        with sessions.begin() as session:
            row = session.get(IdempotencyKey, key, with_for_update=True)
            if row is not None and row.state == "abandoning":
                row.state = "abandoned"
        log.warning(
            "abandoned checkout settled: stock released, payment voided", extra={"order.id": order_id}
        )
        return True


def start(
    sessions: sessionmaker[Session], clients: Clients, abandon_after_s: float, interval_s: float
) -> threading.Event:
    """Sweep every `interval_s` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                sweep_once(sessions, clients, abandon_after_s)
            except Exception as exc:  # Postgres down: the next round tries again
                log.warning("checkout sweep failed", extra={"error.type": type(exc).__name__})

    threading.Thread(target=loop, name="checkout-sweeper", daemon=True).start()
    return stop
