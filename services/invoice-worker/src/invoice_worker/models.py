"""invoice-worker's table (schema `invoice`): one invoice per order, whatever the redeliveries."""

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
    status: Mapped[str] = mapped_column(String(16))  # issued | failed
    failure_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    account_id: Mapped[str] = mapped_column(String(36))
    region: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(Integer)
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
