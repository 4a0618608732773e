"""outbox-relay's settings."""

from __future__ import annotations

from typing import ClassVar

from wayfinder_common.settings import DEFAULT_REDIS_URL, ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "outbox-relay"
    redis_url: str = DEFAULT_REDIS_URL
    poll_interval_s: float = 0.2
    batch_size: int = 50
    # While the broker is down the relay backs off up to this, then keeps trying forever.
    max_backoff_s: float = 5.0
    # Touched on every loop; the health check fails when it goes stale.
    heartbeat_file: str = "/tmp/outbox-relay.heartbeat"
    heartbeat_stale_s: float = 30.0
