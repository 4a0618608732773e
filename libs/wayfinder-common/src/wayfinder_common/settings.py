"""The one settings base: every service reads its environment through a subclass of this, once."""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql+psycopg://wayfinder:wayfinder@127.0.0.1:5432/wayfinder"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class ServiceSettings(BaseSettings):
    """Settings every deployable shares. Subclasses add their own fields and defaults."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    # service.name is fixed per deployable (a class attribute, not an env knob): telemetry names
    # are an API and a typo in an env file must not rename a service in every dashboard.
    service_name: ClassVar[str] = "unknown-service"
    service_version: str = "0.1.0"
    deployment_environment: str = "local"
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "INFO"
    # Bounded so a dead collector cannot eat the shutdown grace period (the SDK default is 30 s).
    telemetry_shutdown_timeout_ms: int = 5000
    # An exporter pointed nowhere is still cheap; turning telemetry off is for unit tests only.
    telemetry_enabled: bool = True
    # The standard switch (OTel SDK environment spec): only "true", any case, disables the SDK;
    # anything else, empty or unknown included, leaves it on. A str, so a typo cannot fail start-up.
    otel_sdk_disabled: str = ""
    # The standard OTEL_* variables are read by the SDK itself; these two are read here too so a
    # typo fails start-up instead of silently becoming the SDK's fallback (see telemetry.py).
    otel_traces_sampler: str | None = None
    otel_traces_sampler_arg: str | None = None
    otel_exporter_otlp_protocol: str | None = None
    # Read here to choose the exporters' transport (the SDK resolves them again, the same way):
    # a signal's own endpoint wins over the common one, and the SDK's default is localhost.
    otel_exporter_otlp_endpoint: str = "http://localhost:4318"
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_exporter_otlp_metrics_endpoint: str | None = None
    otel_exporter_otlp_logs_endpoint: str | None = None
    # A credential provider gives the exporter an authenticated `requests` session, which only
    # the exporter's own transport carries (see telemetry._exporter_transport).
    otel_python_exporter_otlp_http_credential_provider: str | None = None
    otel_python_exporter_otlp_http_traces_credential_provider: str | None = None
    otel_python_exporter_otlp_http_metrics_credential_provider: str | None = None
    otel_python_exporter_otlp_http_logs_credential_provider: str | None = None

    def otlp_endpoint(self, signal: str) -> str:
        """The endpoint the exporter of `signal` (traces, metrics, logs) sends to."""
        own: str | None = getattr(self, f"otel_exporter_otlp_{signal}_endpoint")
        return own or self.otel_exporter_otlp_endpoint or "http://localhost:4318"

    def otlp_credential_provider(self, signal: str) -> str | None:
        """The credential provider the exporter of `signal` loads, if one is configured."""
        own: str | None = getattr(self, f"otel_python_exporter_otlp_http_{signal}_credential_provider")
        return self.otel_python_exporter_otlp_http_credential_provider or own

    @property
    def telemetry_on(self) -> bool:
        """Telemetry is set up unless OTEL_SDK_DISABLED=true or the project switch turns it off."""
        return self.telemetry_enabled and self.otel_sdk_disabled.strip().lower() != "true"

    @cached_property
    def resource_attributes(self) -> dict[str, str]:
        return {
            "service.name": self.service_name,
            "service.namespace": "wayfinder",
            "service.version": self.service_version,
            "deployment.environment.name": self.deployment_environment,
        }
