"""The shop's bounded vocabularies: these are the only values the matching attributes may take."""

from __future__ import annotations

from typing import Literal

Region = Literal["us-east", "eu-west", "ap-south"]
Tier = Literal["free", "pro", "enterprise"]
REGIONS: tuple[Region, ...] = ("us-east", "eu-west", "ap-south")
TIERS: tuple[Tier, ...] = ("free", "pro", "enterprise")
