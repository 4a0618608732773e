"""outbox-relay's settings."""

from __future__ import annotations

from typing import ClassVar

from wayfinder_common.holds import HoldSettings
from wayfinder_common.settings import DEFAULT_REDIS_URL


class Settings(HoldSettings):
    service_name: ClassVar[str] = "outbox-relay"
    redis_url: str = DEFAULT_REDIS_URL
    poll_interval_s: float = 0.2
    batch_size: int = 50
    # While the broker is down the relay backs off up to this, then keeps trying forever.
    max_backoff_s: float = 5.0
    # Touched on every loop; the health check fails when it goes stale.
    heartbeat_file: str = "/tmp/outbox-relay.heartbeat"
    heartbeat_stale_s: float = 30.0
    # A published event without an invoice (or recorded failure) after this is published
    # again. It must exceed the worker's longest retry schedule (RetryPolicy.longest_schedule_s,
    # 121 s with the worker's defaults) so a republication never races a job still retrying.
    republish_after_s: float = 180.0
    # Republications per drive; after the last one the event is dead-lettered ("not_invoiced").
    max_republications: int = 2
    # How often finished events are marked and overdue ones republished.
    reconcile_interval_s: float = 2.0
