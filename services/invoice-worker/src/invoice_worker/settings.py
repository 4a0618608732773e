"""invoice-worker's settings."""

from __future__ import annotations

from typing import ClassVar

from wayfinder_common.settings import DEFAULT_REDIS_URL, ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "invoice-worker"
    redis_url: str = DEFAULT_REDIS_URL
    payment_provider_url: str = "http://127.0.0.1:8083"
    gateway_timeout_s: float = 3.0
    concurrency: int = 2
    max_retries: int = 6
    retry_base_s: float = 1.0
    retry_cap_s: float = 30.0
