"""A small open-loop checkout generator: the stand-in load until `wayfinder load` exists.

Settings come from WAYFINDER_LOAD_* (see load.py). Each request is a checkout with an
Idempotency-Key in a region and account tier drawn from the profile's mix; a few use a
declining card. Prints one summary line at the end.
"""

from __future__ import annotations

import random
import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from wayfinder_common.domain import TIERS

from wayfinder.scenarios.model import LoadProfile

SKUS = ("SKU-MUG", "SKU-BOOK", "SKU-LAMP", "SKU-KEYB")


class LoadSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WAYFINDER_LOAD_", extra="ignore")

    profile: str
    target: str
    duration_s: float = Field(gt=0)
    seed: str = ""


def _account(tier: str, rng: random.Random) -> str:
    # The seeded demo accounts acct-0001..acct-0030 cycle through the tiers (n % 3).
    index = TIERS.index(tier)  # type: ignore[arg-type]
    return f"acct-{rng.choice([n for n in range(1, 31) if n % 3 == index]):04d}"


def _pick(mix: dict[str, float], rng: random.Random) -> str:
    names = [k for k, v in mix.items() if v > 0]
    return rng.choices(names, weights=[mix[k] for k in names])[0]


def main() -> None:
    settings = LoadSettings()  # type: ignore[call-arg]
    profile = LoadProfile.model_validate_json(settings.profile)
    rng = random.Random(int(settings.seed) if settings.seed else None)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    client = httpx.Client(base_url=settings.target, timeout=15.0)

    def checkout(body: dict[str, object]) -> None:
        try:
            status = str(
                client.post(
                    "/checkout", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
                ).status_code
            )
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        with lock:
            outcomes[status] += 1

    deadline = time.monotonic() + settings.duration_s
    interval = 1.0 / profile.rate_per_s
    next_at = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        while not stopping.is_set() and time.monotonic() < deadline:
            declining = rng.random() < profile.decline_ratio
            body: dict[str, object] = {
                "account_id": _account(_pick(profile.tier_mix, rng), rng),
                "email": "load.synthetic@example.com",
                "region": _pick(profile.region_mix, rng),
                "items": [{"sku": rng.choice(SKUS), "quantity": 1}],
                "payment": {"card_token": "tok_decline" if declining else "tok_load_visa"},
            }
            pool.submit(checkout, body)
            next_at += interval
            stopping.wait(max(0.0, next_at - time.monotonic()))
    client.close()
    print("load finished:", " ".join(f"{k}={v}" for k, v in sorted(outcomes.items())), flush=True)


if __name__ == "__main__":
    main()
