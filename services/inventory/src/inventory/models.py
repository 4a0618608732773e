"""Inventory's tables (schema `inventory`): products with stock, and reservations per order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship
from wayfinder_common.db import Base

SCHEMA = "inventory"


class Product(Base):
    __tablename__ = "products"
    __table_args__ = {"schema": SCHEMA}

    sku: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    price_cents: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)


class Reservation(Base):
    __tablename__ = "reservations"
    __table_args__ = {"schema": SCHEMA}

    order_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # reserved | released
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    items: Mapped[list[ReservationItem]] = relationship(
        order_by="ReservationItem.sku", cascade="all, delete-orphan", lazy="selectin"
    )


class ReservationItem(Base):
    __tablename__ = "reservation_items"
    __table_args__ = {"schema": SCHEMA}

    order_id: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.reservations.order_id"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
