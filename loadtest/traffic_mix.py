"""What the shop's traffic is made of: regions, account tiers, the seeded accounts, weighted mixes.

Standard library only: the Locust journeys import it, and so do unit tests and any tool that
wants to check a mix before starting Locust (which monkey-patches the process with gevent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

REGIONS = ("us-east", "eu-west", "ap-south")
TIERS = ("free", "pro", "enterprise")
DEFAULT_REGION_MIX = "us-east=0.5,eu-west=0.3,ap-south=0.2"
DEFAULT_TIER_MIX = "free=0.5,pro=0.35,enterprise=0.15"

# The 30 seeded accounts acct-0001..acct-0030 cycle tiers: acct-0001 pro, -0002 enterprise,
# -0003 free, ... (services/checkout-api's first migration).
ACCOUNTS_BY_TIER: dict[str, tuple[str, ...]] = {
    tier: tuple(f"acct-{n:04d}" for n in range(1, 31) if ("free", "pro", "enterprise")[n % 3] == tier)
    for tier in TIERS
}


def parse_mix(text: str, known: Sequence[str]) -> dict[str, float]:
    """`us-east=2,eu-west=1` -> weights summing to 1 over `known`; names left out get 0.

    Weights are any non-negative numbers (fractions, percentages, counts); a ValueError says
    exactly what is wrong with the text.
    """
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"{part.strip()!r} is not NAME=WEIGHT (e.g. {known[0]}=0.5)")
        if name not in known:
            raise ValueError(f"unknown name {name!r} (known: {', '.join(known)})")
        if name in weights:
            raise ValueError(f"{name!r} is given twice")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"the weight of {name!r} is not a number: {value.strip()!r}") from None
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"the weight of {name!r} must be a number >= 0, not {value.strip()!r}")
        weights[name] = weight
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("at least one weight must be above 0")
    return {name: weights.get(name, 0.0) / total for name in known}


def canonical_mix(text: str, known: Sequence[str]) -> str:
    """The mix as normalized, fixed-order text: what a run reports it used."""
    return ",".join(f"{name}={weight:.4g}" for name, weight in parse_mix(text, known).items())
