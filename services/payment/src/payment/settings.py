"""payment's settings."""

from __future__ import annotations

from typing import ClassVar

from wayfinder_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "payment"
    port: int = 8082
    payment_provider_url: str = "http://127.0.0.1:8083"
    # Per attempt: above the slowest healthy region (ap-south ~180 ms) and the 1.8 s drill latency.
    provider_attempt_timeout_s: float = 2.5
    # The whole authorization, retries and waits included; checkout waits a little longer than this.
    provider_total_timeout_s: float = 8.0
    provider_max_attempts: int = 4
    backoff_base_s: float = 0.1
    backoff_cap_s: float = 2.0
    # Retries may add at most this fraction of extra load (plus a floor), or they stop: the
    # article's "adding retries can make outages worse". The floor (2 a second over 30 s) lets a
    # few-checkouts-a-second shop ride out a burst of 429s (the walkthrough's regional limit
    # stays at about 6 % of first attempts); a provider failing everywhere (the retry storm)
    # wants several retries a second and still runs the budget dry.
    retry_budget_ratio: float = 0.2
    retry_budget_min_per_window: int = 60
    retry_budget_window_s: float = 30.0
