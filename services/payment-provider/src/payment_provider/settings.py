"""payment-provider's settings."""

from __future__ import annotations

from typing import ClassVar

from wayfinder_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "payment-provider"
    port: int = 8083
    # How long a "timeout" fault hangs: longer than any client in the shop waits.
    hang_s: float = 30.0
    # Fixed seed for reproducible scenario runs; None = truly random.
    fault_seed: int | None = None
