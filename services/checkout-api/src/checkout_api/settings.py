"""checkout-api's settings."""

from __future__ import annotations

from typing import ClassVar

from wayfinder_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "checkout-api"
    port: int = 8080
    inventory_url: str = "http://127.0.0.1:8081"
    payment_url: str = "http://127.0.0.1:8082"
    inventory_timeout_s: float = 3.0
    # Above payment's own deadline (8 s, retries included) so payment answers before we give up.
    payment_timeout_s: float = 10.0
    # An in-progress idempotency key older than this belongs to a request that died mid-way;
    # a retry may take it over (inventory and payment are idempotent per order, so it is safe).
    idempotency_takeover_s: float = 30.0
    # A checkout neither confirmed nor retried for this long is abandoned by the sweeper: its
    # stock goes back and its payment hold is voided, so nothing stays held for nobody.
    abandon_after_s: float = 120.0
    sweep_interval_s: float = 10.0
