"""The relay's observable gauges: what is not yet published, what is owed an invoice (by age),
and what ended as a recorded failure waiting for an operator's re-drive."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.jobs import INVOICE_QUEUE
from wayfinder_common.outbox import INVOICE_LEDGER as LEDGER
from wayfinder_common.outbox import OutboxEvent

from outbox_relay.reconcile import event_drive, owed

# Bounded age buckets (the order.age attribute): upper bound in seconds, label.
AGE_BUCKETS: tuple[tuple[float, str], ...] = (
    (60.0, "under_1m"),
    (300.0, "1m_to_5m"),
    (900.0, "5m_to_15m"),
    (float("inf"), "over_15m"),
)
NOT_INVOICED = "not_invoiced"
# Every reason a dead letter can have (the worker's final failure.reason values, and the relay's
# own): each is reported, zeros included, so a re-driven reason visibly returns to 0.
DEAD_LETTER_REASONS = (
    "gateway_unavailable",
    "gateway_rejected",
    "gateway_timeout",
    "attempt_lost",
    NOT_INVOICED,
)


def missing_by_age(session: Session) -> dict[str, int]:
    """Orders with neither an invoice nor a recorded failure, by how long they have waited."""
    waited = func.extract(
        "epoch", func.now() - func.coalesce(OutboxEvent.redriven_at, OutboxEvent.created_at)
    )
    bucket = case(*((waited < bound, label) for bound, label in AGE_BUCKETS[:-1]), else_=AGE_BUCKETS[-1][1])
    counts = {label: 0 for _, label in AGE_BUCKETS}
    for label, count in session.execute(select(bucket, func.count()).where(owed()).group_by(bucket)):
        counts[str(label)] = int(count)
    return counts


def dead_letters_by_reason(session: Session) -> dict[str, int]:
    """Recorded failures an operator has not re-driven: failed invoices and dead-lettered events."""
    failed = session.execute(
        select(LEDGER.c.failure_reason, func.count())
        .select_from(LEDGER.join(OutboxEvent, LEDGER.c.order_id == OutboxEvent.payload["order_id"].astext))
        .where(and_(LEDGER.c.status == "failed", LEDGER.c.drive >= event_drive()))
        .group_by(LEDGER.c.failure_reason)
    ).all()
    counts = dict.fromkeys(DEAD_LETTER_REASONS, 0)
    counts.update({str(reason): int(count) for reason, count in failed})
    counts[NOT_INVOICED] = int(
        session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.dead_lettered_at.is_not(None), OutboxEvent.completed_at.is_(None))
        )
        or 0
    )
    return counts


def register_gauges(sessions: sessionmaker[Session]) -> None:
    meter = metrics.get_meter("outbox-relay")
    meter.create_observable_gauge(
        "outbox.pending",
        callbacks=[_observer(sessions, _pending, "queue.name")],
        unit="{event}",
        description="Outbox events committed but not yet published",
    )
    meter.create_observable_gauge(
        "invoice.missing",
        callbacks=[_observer(sessions, missing_by_age, "order.age")],
        unit="{order}",
        description="Confirmed orders with neither an invoice nor a recorded failure, by age",
    )
    meter.create_observable_gauge(
        "invoice.dead_letters",
        callbacks=[_observer(sessions, dead_letters_by_reason, "failure.reason")],
        unit="{order}",
        description="Orders whose invoice ended as a recorded failure, waiting for a re-drive",
    )


def _pending(session: Session) -> dict[str, int]:
    """By the queue the events go to (every one to the invoice queue today): a backlog names the
    queue that stopped moving, as the lag and the publish spans do."""
    count = session.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
    )
    return {INVOICE_QUEUE: int(count or 0)}


def _observer(
    sessions: sessionmaker[Session], query: Callable[[Session], dict[str, int]], attribute: str | None
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(_: CallbackOptions) -> list[Observation]:
        try:
            with suppress_instrumentation(), sessions() as session:
                counts = query(session)
        except Exception:
            return []  # no observation beats a wrong one while Postgres is down
        return [
            Observation(count, {attribute: value} if attribute else {}) for value, count in counts.items()
        ]

    return observe
