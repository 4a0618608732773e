"""Finish, republish or dead-letter published outbox events, by what the invoice ledger says.

An event is finished when its order's invoice is issued or recorded as failed (for the event's
drive). One that is still unfinished `republish_after_s` after its last publication is published
again, at most `max_republications` times, and then dead-lettered with reason `not_invoiced`
for an operator to re-drive. Two liveness checks keep republication from racing: a job still
attempting (its ledger row pending and touched within the bound) is left alone, and so is a
message still queued behind a backlog (only messages published before one the workers have
already finished count as lost).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from opentelemetry import metrics
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import ColumnElement, Integer, and_, cast, exists, func, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.outbox import INVOICE_LEDGER as LEDGER
from wayfinder_common.outbox import OutboxEvent

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
    """The order's invoice is issued (whichever drive issued it), or its failure is recorded for
    this event's drive (a re-driven event is not finished by the failure it re-drives)."""
    return exists().where(
        LEDGER.c.order_id == OutboxEvent.payload["order_id"].astext,
        or_(LEDGER.c.status == "issued", and_(LEDGER.c.status == "failed", LEDGER.c.drive >= event_drive())),
    )


def _still_attempting(since: datetime) -> ColumnElement[bool]:
    return exists().where(
        LEDGER.c.order_id == OutboxEvent.payload["order_id"].astext,
        LEDGER.c.status == "pending",
        LEDGER.c.drive >= event_drive(),
        LEDGER.c.updated_at > since,
    )


class Reconciler:
    """Runs the passes; remembers how far the queue has been consumed (see `_overdue`)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        send: Send,
        republish_after_s: float,
        max_republications: int,
        batch_size: int,
        checkpoint: Checkpoint = no_checkpoint,
        queue_is_empty: Callable[[], bool] = lambda: False,
    ) -> None:
        self.sessions = sessions
        self.queue_is_empty = queue_is_empty
        self.send = send
        self.republish_after_s = republish_after_s
        self.max_republications = max_republications
        self.batch_size = batch_size
        self.checkpoint = checkpoint
        # The latest publication whose invoice outcome exists: the queue got at least that far.
        self.consumed_up_to: datetime | None = None
        # Exported from the start (at 0), so rate() has a series before the first republication.
        republications.add(0)

    def run_once(self) -> tuple[int, int, bool]:
        """One pass; returns (finished, republished, broker_failed)."""
        finished = self._finish()
        republished, broker_failed = self._republish_overdue()
        return finished, republished, broker_failed

    def _finish(self) -> int:
        with suppress_instrumentation(), self.sessions.begin() as session:
            published = session.scalars(
                update(OutboxEvent)
                .where(
                    OutboxEvent.completed_at.is_(None), OutboxEvent.published_at.is_not(None), has_outcome()
                )
                .values(completed_at=datetime.now(UTC))
                .returning(OutboxEvent.published_at)
                .execution_options(synchronize_session=False)
            ).all()
        latest = max((p for p in published if p is not None), default=None)
        if latest is not None and (self.consumed_up_to is None or latest > self.consumed_up_to):
            self.consumed_up_to = latest
        return len(published)

    def _overdue(self, now: datetime, queue_empty: bool) -> ColumnElement[bool]:
        """Lost, not late: published longer ago than the bound, no outcome, no live attempt, and
        not possibly still queued: the queue is empty, or the workers already finished a message
        published after it (the queue is FIFO). A message waiting behind a backlog is not
        republished, so a slow queue is not amplified by duplicates."""
        bound = now - timedelta(seconds=self.republish_after_s)
        consumed = (
            true()
            if queue_empty
            else OutboxEvent.published_at < (self.consumed_up_to or datetime.min.replace(tzinfo=UTC))
        )
        return and_(
            OutboxEvent.completed_at.is_(None),
            OutboxEvent.dead_lettered_at.is_(None),
            OutboxEvent.published_at < bound,
            consumed,
            ~has_outcome(),
            ~_still_attempting(bound),
        )

    def _republish_overdue(self) -> tuple[int, bool]:
        try:
            with suppress_instrumentation():  # a broker probe every pass is no trace anyone wants
                queue_empty = self.queue_is_empty()
        except Exception:
            return 0, True  # the broker does not answer: nothing can be republished now
        if not queue_empty and self.consumed_up_to is None:
            return 0, False  # nothing known to be consumed yet: republishing would only pile up
        now = datetime.now(UTC)
        republished = 0
        with suppress_instrumentation(), self.sessions.begin() as session:
            rows = session.scalars(
                select(OutboxEvent)
                .where(self._overdue(now, queue_empty))
                .order_by(OutboxEvent.published_at)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                order_id = str(row.payload.get("order_id", ""))
                if row.republications >= self.max_republications:
                    row.dead_lettered_at = now
                    row.last_error = f"not invoiced after {row.republications + 1} publications"
                    log.error(
                        "invoice event dead-lettered; re-drive it with `wayfinder invoices redrive`",
                        extra={"order.id": order_id, "failure.reason": "not_invoiced"},
                    )
                    continue
                attempt = row.republications + 1
                if not publish_one(session, row, self.send, self.checkpoint, republication=attempt):
                    return republished, True
                row.republications = attempt
                republished += 1
                republications.add(1)
                log.warning("invoice event republished: no invoice yet", extra={"order.id": order_id})
        return republished, False


def owed() -> ColumnElement[bool]:
    """Events an invoice is still owed for: not finished, not dead-lettered, no outcome yet."""
    return and_(OutboxEvent.completed_at.is_(None), OutboxEvent.dead_lettered_at.is_(None), ~has_outcome())
