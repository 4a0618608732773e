"""Inventory's settings (env -> this class, read once)."""

from __future__ import annotations

from typing import ClassVar

from wayfinder_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "inventory"
    port: int = 8081
