"""Inventory's request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field
from wayfinder_common.domain import ID_PATTERN


class Item(BaseModel):
    sku: str = Field(min_length=1, max_length=32, pattern=ID_PATTERN)
    quantity: int = Field(ge=1, le=100)


class ReserveRequest(BaseModel):
    order_id: str = Field(min_length=1, max_length=36, pattern=ID_PATTERN)
    items: list[Item] = Field(min_length=1, max_length=50)


class ReservedLine(BaseModel):
    sku: str
    quantity: int
    unit_price_cents: int


class ReservationOut(BaseModel):
    order_id: str
    status: str
    lines: list[ReservedLine]
    total_cents: int


class ProductOut(BaseModel):
    sku: str
    name: str
    price_cents: int
    stock: int
