"""Where the compose stack's query APIs answer (ports published on 127.0.0.1 by docker-compose.yml)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ComposeEndpoints(BaseSettings):
    """WAYFINDER_PROMETHEUS_URL etc. override the defaults of docker-compose.yml's port variables."""

    model_config = SettingsConfigDict(env_prefix="WAYFINDER_", extra="ignore")

    prometheus_url: str = "http://127.0.0.1:9090"
    tempo_url: str = "http://127.0.0.1:3200"
    loki_url: str = "http://127.0.0.1:3100"
    grafana_url: str = "http://127.0.0.1:3000"
    # How far back trace search and a trace's logs look.
    lookback_s: float = 6 * 3600
