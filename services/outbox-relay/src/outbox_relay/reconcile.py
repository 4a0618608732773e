"""Finish, republish or dead-letter published outbox events, by what the invoice ledger says.

An event is finished when its order's invoice is issued or recorded as failed (for the event's
drive). One that is still unfinished `republish_after_s` after its last publication is published
again, at most `max_republications` times, and then dead-lettered with reason `not_invoiced`
for an operator to re-drive. A job that is still attempting (its ledger row pending and touched
within the bound) is left alone: republication never races a live retry.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import metrics
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import ColumnElement, CursorResult, Integer, and_, cast, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.outbox import INVOICE_LEDGER as LEDGER
from wayfinder_common.outbox import TERMINAL_STATUSES, OutboxEvent

from outbox_relay.relay import Checkpoint, Send, no_checkpoint, publish_one

log = logging.getLogger(__name__)
republications = metrics.get_meter("outbox-relay").create_counter(
    "outbox.republications",
    unit="{event}",
    description="Events published again because no invoice or recorded failure followed in time",
)


def event_drive() -> ColumnElement[int]:
    """The drive an outbox event asks for (bumped by each re-drive; absent means 0)."""
    return func.coalesce(cast(OutboxEvent.payload["drive"].astext, Integer), 0)


def has_outcome() -> ColumnElement[bool]:
    """The order's invoice is issued or its failure recorded, for this event's drive."""
    return exists().where(
        LEDGER.c.order_id == OutboxEvent.payload["order_id"].astext,
        LEDGER.c.status.in_(TERMINAL_STATUSES),
        LEDGER.c.drive >= event_drive(),
    )


def _still_attempting(since: datetime) -> ColumnElement[bool]:
    return exists().where(
        LEDGER.c.order_id == OutboxEvent.payload["order_id"].astext,
        LEDGER.c.status == "pending",
        LEDGER.c.drive >= event_drive(),
        LEDGER.c.updated_at > since,
    )


def reconcile(
    sessions: sessionmaker[Session],
    send: Send,
    republish_after_s: float,
    max_republications: int,
    batch_size: int,
    checkpoint: Checkpoint = no_checkpoint,
) -> tuple[int, int, bool]:
    """One pass; returns (finished, republished, broker_failed)."""
    now = datetime.now(UTC)
    overdue = now - timedelta(seconds=republish_after_s)
    with suppress_instrumentation(), sessions.begin() as session:
        result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(OutboxEvent)
            .where(OutboxEvent.completed_at.is_(None), OutboxEvent.published_at.is_not(None), has_outcome())
            .values(completed_at=now)
            .execution_options(synchronize_session=False)
        )
        finished = result.rowcount
    republished = 0
    with suppress_instrumentation(), sessions.begin() as session:
        rows = session.scalars(
            select(OutboxEvent)
            .where(
                OutboxEvent.completed_at.is_(None),
                OutboxEvent.dead_lettered_at.is_(None),
                OutboxEvent.published_at < overdue,
                ~has_outcome(),
                ~_still_attempting(overdue),
            )
            .order_by(OutboxEvent.published_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            order_id = str(row.payload.get("order_id", ""))
            if row.republications >= max_republications:
                row.dead_lettered_at = now
                row.last_error = f"not invoiced after {row.republications + 1} publications"
                log.error(
                    "invoice event dead-lettered; re-drive it with `wayfinder invoices redrive`",
                    extra={"order.id": order_id, "failure.reason": "not_invoiced"},
                )
                continue
            if not publish_one(session, row, send, checkpoint, republication=row.republications + 1):
                return finished, republished, True
            row.republications += 1
            republished += 1
            republications.add(1)
            log.warning("invoice event republished: no invoice yet", extra={"order.id": order_id})
    return finished, republished, False


def owed() -> ColumnElement[bool]:
    """Events an invoice is still owed for: not finished, not dead-lettered, no outcome yet."""
    return and_(OutboxEvent.completed_at.is_(None), OutboxEvent.dead_lettered_at.is_(None), ~has_outcome())
