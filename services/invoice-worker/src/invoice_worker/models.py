"""invoice-worker's table (schema `invoice`): one row per order, whatever the redeliveries.

The row is the order's invoice ledger entry: `pending` while attempts run (its attempt count is
the per-order retry budget), then `issued` or `failed` (a dead letter an operator can re-drive).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column
from wayfinder_common.db import Base

SCHEMA = "invoice"


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = {"schema": SCHEMA}

    order_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(48), unique=True)
    invoice_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # pending | issued | failed
    # While pending: why the last attempt failed; once failed: why the invoice gave up.
    failure_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    account_id: Mapped[str] = mapped_column(String(36))
    region: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(Integer)
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    # Gateway calls made in the current drive, counted before each call (a kill mid-call counts).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Which operator re-drive this row belongs to (0 = the order's first delivery).
    drive: Mapped[int] = mapped_column(Integer, default=0)
    # When the current drive's first attempt started: invoice.create.duration counts from here.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
