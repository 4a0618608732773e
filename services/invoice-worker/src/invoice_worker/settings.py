"""invoice-worker's settings."""

from __future__ import annotations

from typing import ClassVar

from wayfinder_common.holds import HoldSettings
from wayfinder_common.jobs import RetryPolicy
from wayfinder_common.settings import DEFAULT_REDIS_URL


class Settings(HoldSettings):
    service_name: ClassVar[str] = "invoice-worker"
    redis_url: str = DEFAULT_REDIS_URL
    payment_provider_url: str = "http://127.0.0.1:8083"
    gateway_timeout_s: float = 3.0
    concurrency: int = 2
    # 5 retries = 6 gateway calls per order and drive at most: retry.attempt is 0..5.
    max_retries: int = 5
    retry_base_s: float = 1.0
    retry_cap_s: float = 30.0
    # Hard limit of one attempt (Celery kills it past this): gateway call + database work.
    attempt_timeout_s: float = 15.0

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_retries=self.max_retries,
            base_s=self.retry_base_s,
            cap_s=self.retry_cap_s,
            attempt_timeout_s=self.attempt_timeout_s,
        )
