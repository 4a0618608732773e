"""checkout-api's request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, EmailStr, Field
from wayfinder_common.domain import ID_PATTERN, Region


class Item(BaseModel):
    sku: str = Field(min_length=1, max_length=32, pattern=ID_PATTERN)
    quantity: int = Field(ge=1, le=100)


class PaymentDetails(BaseModel):
    card_token: str = Field(min_length=4, max_length=64, pattern=r"^tok_[A-Za-z0-9_]+$")


class CheckoutRequest(BaseModel):
    account_id: str = Field(min_length=1, max_length=36, pattern=ID_PATTERN)
    email: EmailStr
    region: Region
    items: list[Item] = Field(min_length=1, max_length=50)
    payment: PaymentDetails


class OrderLine(BaseModel):
    sku: str
    quantity: int
    unit_price_cents: int


class OrderOut(BaseModel):
    order_id: str
    status: str
    account_id: str
    region: str
    total_cents: int
    currency: str
    lines: list[OrderLine]


class CheckoutResponse(BaseModel):
    order_id: str
    status: str
    total_cents: int
    currency: str
    trace_id: str | None = None


class ProductOut(BaseModel):
    sku: str
    name: str
    price_cents: int
    stock: int
