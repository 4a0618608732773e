"""payment's request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field
from wayfinder_common.domain import CURRENCY_PATTERN, ID_PATTERN, MAX_CENTS, Region


class AuthorizeRequest(BaseModel):
    order_id: str = Field(min_length=1, max_length=36, pattern=ID_PATTERN)
    account_id: str = Field(min_length=1, max_length=36, pattern=ID_PATTERN)
    region: Region
    amount_cents: int = Field(ge=1, le=MAX_CENTS)
    currency: str = Field(default="USD", pattern=CURRENCY_PATTERN)
    # Forwarded to the provider and never stored or put on telemetry.
    card_token: str = Field(min_length=4, max_length=64)


class AuthorizationOut(BaseModel):
    order_id: str
    status: str
    authorization_id: str | None = None
