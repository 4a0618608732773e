"""The simulated provider's public API bodies (shaped like a real card processor's)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from wayfinder_common.domain import Region, Tier


class AuthorizationRequest(BaseModel):
    amount_cents: int = Field(ge=1)
    currency: str = Field(default="USD", min_length=3, max_length=3)
    region: Region
    card_token: str = Field(min_length=4, max_length=64)


class AuthorizationOut(BaseModel):
    authorization_id: str
    status: str  # approved | declined | voided
    decline_code: str | None = None


class InvoiceRequest(BaseModel):
    order_id: str
    amount_cents: int = Field(ge=0)
    region: Region
    account_tier: Tier | None = None


class InvoiceOut(BaseModel):
    invoice_number: str
