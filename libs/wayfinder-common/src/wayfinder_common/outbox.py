"""The transactional outbox: checkout-api writes rows with its order, outbox-relay publishes them.

The trace context travels IN the row (the article's custom-carrier case): injected when the order
commits, extracted when the relay publishes, so the invoice job joins the checkout's trace even
when Redis was down for minutes in between. The table lives in checkout-api's schema (its
migration creates it); this module is the shared definition both sides map.

An event is finished when its outcome exists (an issued or failed invoice of the event's
drive), not when the broker took the message: `completed_at` is set by the relay once it sees
that outcome in the invoice ledger, which the worker owns and the relay only reads.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate
from sqlalchemy import DateTime, Integer, String, column, func, table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from wayfinder_common.db import Base

OUTBOX_SCHEMA = "checkout"


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = {"schema": OUTBOX_SCHEMA}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    trace_context: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The invoice (or its recorded failure) exists: nothing more to deliver.
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Publications after the first, for messages the broker or a killed worker lost.
    republications: Mapped[int] = mapped_column(Integer, default=0)
    # Given up after the last republication: a recorded failure an operator can re-drive.
    dead_lettered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When an operator last re-drove it: its wait for an invoice is counted from here.
    redriven_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# The columns of invoice-worker's ledger that say how an order's invoice ended (read-only here).
INVOICE_LEDGER = table(
    "invoices",
    column("order_id", String),
    column("status", String),
    column("failure_reason", String),
    column("drive", Integer),
    column("updated_at", DateTime(timezone=True)),
    schema="invoice",
)


def current_trace_carrier() -> dict[str, str]:
    """The active context as W3C headers (traceparent, tracestate, baggage) for the outbox row."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from_carrier(carrier: dict[str, str]) -> otel_context.Context:
    return propagate.extract(carrier)
