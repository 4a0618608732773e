"""Re-driving recorded invoice failures: the operator's one command after fixing the cause.

A recorded failure is an order whose invoice ended `failed` (the worker's dead letter, with its
reason) or whose event was dead-lettered by the relay (`not_invoiced`). Re-driving bumps the
event's drive and makes it publishable again: the worker gives the new drive a fresh attempt
budget, and the order counts as missing (from now) until its new outcome exists.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.db import make_engine, make_session_factory
from wayfinder_common.outbox import INVOICE_LEDGER as LEDGER
from wayfinder_common.outbox import OutboxEvent

from outbox_relay.reconcile import event_drive
from outbox_relay.settings import Settings


def redrive(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    """Re-drive every recorded failure; returns (order id, reason) of each one re-driven."""
    failed = and_(LEDGER.c.status == "failed", LEDGER.c.drive >= event_drive())
    dead_lettered = and_(OutboxEvent.dead_lettered_at.is_not(None), OutboxEvent.completed_at.is_(None))
    now = datetime.now(UTC)
    redriven: list[tuple[str, str]] = []
    with sessions.begin() as session:
        rows = session.execute(
            select(OutboxEvent, LEDGER.c.failure_reason)
            .outerjoin(LEDGER, LEDGER.c.order_id == OutboxEvent.payload["order_id"].astext)
            .where(or_(failed, dead_lettered))
            .with_for_update(of=OutboxEvent)
        ).all()
        for event, failure_reason in rows:
            reason = "not_invoiced" if event.dead_lettered_at is not None else str(failure_reason)
            event.payload = {**event.payload, "drive": int(event.payload.get("drive", 0)) + 1}
            event.published_at = event.completed_at = event.dead_lettered_at = None
            event.republications, event.redriven_at, event.last_error = 0, now, None
            order_id = str(event.payload.get("order_id", ""))
            redriven.append((order_id, reason))
    return redriven


def redrive_from_cli(settings: Settings) -> None:
    """Print what was re-driven: one line per order, then a count."""
    engine = make_engine(settings.database_url)
    try:
        redriven = redrive(make_session_factory(engine))
    finally:
        engine.dispose()
    for order_id, reason in redriven:
        print(f"re-driven {order_id} (was: {reason})")
    print(f"{len(redriven)} invoice(s) re-driven; the relay publishes them within a second")
