"""Publish committed outbox rows to Celery, at least once, continuing each order's trace.

Publishing does not finish an event: reconcile.py does, once the invoice (or its recorded
failure) exists, and republishes events whose message was lost.

Polling is wrapped in suppress_instrumentation: a poll every 200 ms would otherwise be a stream
of root spans nobody asked for. Each row's publish runs under the context extracted from the
row, so `outbox.publish` and Celery's `apply_async` span join the checkout's trace.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.faulthooks import FLEET, DropContextParams
from wayfinder_common.faultstate import fault_reader
from wayfinder_common.jobs import ENQUEUED_AT_HEADER, INVOICE_QUEUE
from wayfinder_common.outbox import OutboxEvent, context_from_carrier
from wayfinder_common.telemetry import business_span

log = logging.getLogger(__name__)
tracer = trace.get_tracer("outbox-relay")

# send(task_name, payload, headers) -> None; raises when the broker does not take the message.
Send = Callable[[str, dict[str, Any], dict[str, Any]], None]
# checkpoint(point): a hold point for chaos tests (wayfinder_common.holds); a no-op by default.
Checkpoint = Callable[[str], None]


def no_checkpoint(_: str) -> None:
    return None


def publish_batch(
    sessions: sessionmaker[Session], send: Send, batch_size: int, checkpoint: Checkpoint = no_checkpoint
) -> tuple[int, bool]:
    """Publish up to `batch_size` rows, oldest first; returns (published, broker_failed)."""
    published = 0
    with suppress_instrumentation(), sessions.begin() as session:
        rows = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.created_at)
            .limit(batch_size)
            # Several relays may run: each row is published by whoever locked it.
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            if not publish_one(session, row, send, checkpoint):
                return published, True
            published += 1
    return published, False


def publish_one(
    session: Session, row: OutboxEvent, send: Send, checkpoint: Checkpoint, republication: int = 0
) -> bool:
    """Hand one row to the broker; `republication` > 0 when an earlier message got no invoice."""
    order_id = str(row.payload.get("order_id", ""))
    attributes = {
        "order.id": order_id,
        "outbox.event_type": row.event_type,
        "queue.name": INVOICE_QUEUE,
        "retry.attempt": republication,
    }
    # The extracted context is a fresh one, so the poll's suppress flag does not apply to the
    # publish: its spans are the point of the exercise.
    token = otel_context.attach(context_from_carrier({} if _drop_context() else row.trace_context))
    try:
        with business_span(tracer, "outbox.publish", **attributes):
            row.attempts += 1
            try:
                send(row.event_type, row.payload, {ENQUEUED_AT_HEADER: row.created_at.timestamp()})
            except Exception as exc:
                row.last_error = f"{type(exc).__name__}: {exc}"[:200]
                log.warning(
                    "broker did not take the message; will retry",
                    extra={"order.id": order_id, "error.type": type(exc).__name__},
                )
                raise
            checkpoint("outbox.after_send")
            row.published_at = datetime.now(UTC)
            row.last_error = None
            log.info("outbox event published", extra={"order.id": order_id})
    except Exception:
        return False
    finally:
        otel_context.detach(token)
    return True


def _drop_context() -> bool:
    """The generic "lost context" fault hook (relay.drop_context): publish as a fresh trace."""
    drop = fault_reader().params("relay.drop_context", FLEET)
    return isinstance(drop, DropContextParams) and random.random() < drop.drop_rate
