"""The backend for the mode `up` chose: the compose stack's APIs, or local mode's store and Prometheus."""

from __future__ import annotations

from wayfinder.local.config import LocalConfig
from wayfinder.query.interface import QueryBackend
from wayfinder.query.model import QueryError


def backend(config: LocalConfig | None = None) -> QueryBackend:
    """The remembered mode decides; before any `up`, the configured one (auto means local here)."""
    from wayfinder.local.cli import remembered_mode

    config = config or LocalConfig()
    if (remembered_mode(config) or config.mode) == "compose":
        from wayfinder.query.compose import ComposeBackend
        from wayfinder.query.settings import ComposeEndpoints

        return ComposeBackend(ComposeEndpoints())
    return local_backend(config)


def local_backend(config: LocalConfig) -> QueryBackend:
    from wayfinder.query.local import LocalBackend
    from wayfinder.query.prometheus_api import PrometheusAPI
    from wayfinder.store.db import TelemetryStore

    if not config.uses_embedded_store:
        raise QueryError(
            f"telemetry goes to {config.otlp_endpoint}, not to the embedded store: browse it there (Grafana)"
        )
    if not config.store_db.exists():
        raise QueryError("no telemetry yet: run `make up` first")
    return LocalBackend(
        TelemetryStore(config.store_db), PrometheusAPI(f"http://127.0.0.1:{config.prometheus_port}")
    )
