"""Local mode's settings: where its state lives and which loopback ports it uses."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def find_project_root(start: Path | None = None) -> Path:
    """The checkout this command runs in (the folder holding services/), else the cwd."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "services" / "checkout-api").is_dir() and (folder / "pyproject.toml").exists():
            return folder
    return here


class LocalConfig(BaseSettings):
    """WAYFINDER_* variables; OTEL_EXPORTER_OTLP_ENDPOINT sends telemetry elsewhere (no store)."""

    model_config = SettingsConfigDict(env_prefix="WAYFINDER_", extra="ignore")

    # auto: the Docker stack when an engine answers, else local mode.
    mode: Literal["auto", "local", "compose"] = "auto"
    home: Path = Field(default_factory=lambda: find_project_root() / ".wayfinder")
    # Not 5432/6379: a developer's own Postgres or Redis is often already there.
    postgres_port: int = 15432
    redis_port: int = 16379
    store_port: int = 4318
    checkout_port: int = 8080
    inventory_port: int = 8081
    payment_port: int = 8082
    provider_port: int = 8083
    environment: str = "local"
    # The local Prometheus (web UI and HTTP API) that evaluates prometheus/rules/*.yml.
    prometheus_port: int = 9090
    # WAYFINDER_OTLP_FORWARD: an OTLP/HTTP base URL that also gets everything the store receives.
    otlp_forward: str | None = None
    # Short so `wayfinder checkout` can show the trace a moment after the order. A longer delay
    # (fewer, larger exports) measured no cheaper under load (docs/performance.md, issue 10).
    span_export_delay_ms: int = 300
    metric_export_interval_ms: int = 5000
    # The embedded store's retention (whichever is reached first): a 30-minute drill under
    # load would otherwise leave gigabytes behind.
    store_max_age: str = "2h"
    store_max_size: str = "512MB"
    external_otlp_endpoint: str | None = Field(default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT")

    @property
    def otlp_endpoint(self) -> str:
        return self.external_otlp_endpoint or f"http://127.0.0.1:{self.store_port}"

    @property
    def uses_embedded_store(self) -> bool:
        return self.external_otlp_endpoint is None

    @property
    def store_db(self) -> Path:
        return self.home / "telemetry.db"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def checkout_url(self) -> str:
        return f"http://127.0.0.1:{self.checkout_port}"


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_config(home: Path, otlp_endpoint: str, environment: str, **overrides: Any) -> LocalConfig:
    """Local mode on free ports under `home`, exporting to `otlp_endpoint` (tests, benchmarks)."""
    ports = {
        f"{name}_port": free_port()
        for name in ("postgres", "redis", "checkout", "inventory", "payment", "provider")
    }
    # The endpoint field is set by its env alias; model_validate takes both kinds of key.
    settings: dict[str, Any] = {"home": home, "environment": environment, **ports, **overrides}
    settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    return LocalConfig.model_validate(settings)
