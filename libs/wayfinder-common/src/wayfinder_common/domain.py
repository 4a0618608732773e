"""The shop's bounded vocabularies: these are the only values the matching attributes may take."""

from __future__ import annotations

from typing import Literal

Region = Literal["us-east", "eu-west", "ap-south"]
Tier = Literal["free", "pro", "enterprise"]
REGIONS: tuple[Region, ...] = ("us-east", "eu-west", "ap-south")
TIERS: tuple[Tier, ...] = ("free", "pro", "enterprise")

# Ids (orders, accounts, SKUs) travel in URLs, HTTP headers (idempotency keys) and Postgres text:
# printable ASCII only. Anything else is a 422 at the edge rather than a 500 deep inside (a NUL
# is refused by Postgres, a non-ASCII character by an HTTP header).
ID_PATTERN = r"^[!-~]+$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
# Amounts and quantities are stored in Postgres `integer` columns.
MAX_CENTS = 2**31 - 1
