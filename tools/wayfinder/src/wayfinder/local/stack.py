"""Local mode: Postgres, Redis, the telemetry store, migrations and every service, in order."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from wayfinder.local import prometheus as local_prometheus
from wayfinder.local.config import LocalConfig
from wayfinder.local.processes import ProcessSpec, ProcessTable
from wayfinder.local.servers import PostgresServer, RedisServer
from wayfinder.local.waiting import wait_for
from wayfinder.scenarios.paths import StatePaths

# (process name, python module, command) in start order: providers before their callers.
HTTP_SERVICES = [
    ("payment-provider", "payment_provider"),
    ("inventory", "inventory"),
    ("payment", "payment"),
    ("checkout-api", "checkout_api"),
]
MIGRATING_MODULES = ["checkout_api", "inventory", "payment", "invoice_worker"]
WORKERS = [("invoice-worker", "invoice_worker", "worker"), ("outbox-relay", "outbox_relay", "run")]
STORE = "telemetry-store"

Report = Callable[[str], None]


@dataclass
class ComponentStatus:
    name: str
    running: bool
    detail: str
    required: bool = True  # an optional extra (Prometheus) that is absent is not a failure


class LocalStack:
    def __init__(self, config: LocalConfig, report: Report = print) -> None:
        self.config = config
        self.report = report
        self.processes = ProcessTable(config.run_dir, config.log_dir)
        self.postgres = PostgresServer(config.home / "postgres" / "data", config.postgres_port)
        self.redis = RedisServer(config.home / "redis", config.redis_port)

    def ports(self) -> dict[str, int]:
        c = self.config
        return {
            "payment-provider": c.provider_port,
            "inventory": c.inventory_port,
            "payment": c.payment_port,
            "checkout-api": c.checkout_port,
        }

    def service_env(self, name: str) -> dict[str, str]:
        """The environment one service process gets: the same variables compose sets."""
        c = self.config
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OTEL_", "WAYFINDER_")) and k not in ("PORT", "HOST")
        }
        env.update(
            {
                "DATABASE_URL": self.postgres.url,
                "REDIS_URL": self.redis.url,
                "INVENTORY_URL": f"http://127.0.0.1:{c.inventory_port}",
                "PAYMENT_URL": f"http://127.0.0.1:{c.payment_port}",
                "PAYMENT_PROVIDER_URL": f"http://127.0.0.1:{c.provider_port}",
                "DEPLOYMENT_ENVIRONMENT": c.environment,
                "HOST": "127.0.0.1",
                "HEARTBEAT_FILE": str(c.run_dir / "outbox-relay.heartbeat"),
                "OTEL_EXPORTER_OTLP_ENDPOINT": c.otlp_endpoint,
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_SEMCONV_STABILITY_OPT_IN": "http,database",
                "OTEL_BSP_SCHEDULE_DELAY": str(c.span_export_delay_ms),
                "OTEL_BLRP_SCHEDULE_DELAY": str(c.span_export_delay_ms),
                "OTEL_METRIC_EXPORT_INTERVAL": str(c.metric_export_interval_ms),
                "OTEL_EXPORTER_OTLP_TIMEOUT": "5",
                "PYTHONUNBUFFERED": "1",
                # Where the fault control's sealed state is read (no file: no faults).
                **StatePaths(c.home).service_env(),
            }
        )
        if name in self.ports():
            env["PORT"] = str(self.ports()[name])
        return env

    def up(self) -> None:
        c = self.config
        self.report(f"state folder: {c.home}")
        self.postgres.start()
        self.report(f"  postgres         127.0.0.1:{c.postgres_port}")
        self.redis.start()
        self.report(f"  redis            127.0.0.1:{c.redis_port}")
        if c.uses_embedded_store:
            self.processes.start(
                ProcessSpec(
                    STORE,
                    [
                        sys.executable,
                        "-m",
                        "wayfinder.store",
                        "--db",
                        str(c.store_db),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(c.store_port),
                        *(["--forward", c.otlp_forward] if c.otlp_forward else []),
                        "--max-age",
                        c.store_max_age,
                        "--max-size",
                        c.store_max_size,
                    ],
                    dict(os.environ),
                )
            )
            wait_for(
                lambda: _http_ok(f"http://127.0.0.1:{c.store_port}/healthz"),
                "the telemetry store",
                30,
                self._log_hint(STORE),
            )
            self.report(f"  telemetry        OTLP on 127.0.0.1:{c.store_port} -> {c.store_db}")
            # Local Prometheus and OTLP forwarding: wayfinder.local.prometheus, wayfinder.store.forward.
            self.report(local_prometheus.start_for(c, self.processes)[1])
        else:
            self.report(f"  telemetry        exported to {c.otlp_endpoint} (no embedded store)")
        for module in MIGRATING_MODULES:
            subprocess.run(
                [sys.executable, "-m", module, "migrate"],
                env=self.service_env(module),
                check=True,
                capture_output=True,
                timeout=120,
            )
        self.report("  migrations       applied")
        for name, module in HTTP_SERVICES:
            self.processes.start(
                ProcessSpec(name, [sys.executable, "-m", module, "serve"], self.service_env(name))
            )
        for name, module, command in WORKERS:
            self.processes.start(
                ProcessSpec(name, [sys.executable, "-m", module, command], self.service_env(name))
            )
        for name, port in self.ports().items():
            ready_url = f"http://127.0.0.1:{port}/readyz"
            wait_for(
                functools.partial(_http_ok, ready_url),
                f"{name} to be ready",
                60,
                self._log_hint(name),
            )
            self.report(f"  {name:<17} http://127.0.0.1:{port}")
        for name, module, _ in WORKERS:
            wait_for(
                functools.partial(self._healthcheck, module, name),
                f"{name} to be healthy",
                60,
                self._log_hint(name),
            )
            self.report(f"  {name:<17} running")

    def _healthcheck(self, module: str, name: str) -> bool:
        result = subprocess.run(
            [sys.executable, "-m", module, "healthcheck"],
            env=self.service_env(name),
            capture_output=True,
            timeout=30,
        )
        return result.returncode == 0

    def _log_hint(self, name: str) -> str:
        return f"see {self.processes.log_file(name)}"

    def down(self) -> None:
        # Callers first, so nothing in flight hits a stopped dependency; the store last but one,
        # so the services' exit flush still has somewhere to go.
        order = [w[0] for w in WORKERS] + [s[0] for s in reversed(HTTP_SERVICES)]
        for name in [*order, local_prometheus.NAME, STORE]:
            if self.processes.pid(name) is not None:
                self.processes.stop(name)
                self.report(f"  stopped {name}")
        for leftover in self.processes.names():
            self.processes.stop(leftover)
        self.redis.stop()
        self.postgres.stop()
        self.report("  stopped redis and postgres")

    def status(self) -> list[ComponentStatus]:
        rows = [
            ComponentStatus("postgres", self.postgres.is_running(), f"127.0.0.1:{self.config.postgres_port}"),
            ComponentStatus("redis", self.redis.is_running(), f"127.0.0.1:{self.config.redis_port}"),
        ]
        names = [STORE] if self.config.uses_embedded_store else []
        names += [s[0] for s in HTTP_SERVICES] + [w[0] for w in WORKERS]
        ports = self.ports()
        for name in names:
            pid = self.processes.pid(name)
            detail = f"pid {pid}" if pid else "not running"
            if pid and name in ports:
                ready = _http_ok(f"http://127.0.0.1:{ports[name]}/readyz")
                detail += f", http://127.0.0.1:{ports[name]} {'ready' if ready else 'NOT ready'}"
            if pid and name == STORE:
                detail += store_status_text(f"http://127.0.0.1:{self.config.store_port}/status")
            rows.append(ComponentStatus(name, pid is not None, detail))
        if self.config.uses_embedded_store:
            installed, running, detail = local_prometheus.status_detail(self.config, self.processes)
            rows.append(ComponentStatus(local_prometheus.NAME, running, detail, required=installed))
        return rows


def store_status_text(url: str) -> str:
    """The store's size against its bound and refused exports, as a status suffix."""
    try:
        status = httpx.get(url, timeout=1.0).json()
    except (httpx.HTTPError, ValueError):
        return ", status unavailable"
    text = ""
    if status.get("used_bytes") is not None and status.get("max_bytes"):
        text += f", {status['used_bytes'] / 2**20:.0f} of {status['max_bytes'] / 2**20:.0f} MB"
    if status.get("over_bound"):
        text += f", OVER ITS SIZE BOUND ({status.get('over_bound_reason') or 'pruning'})"
    if status.get("exports_refused"):
        text += f", {status['exports_refused']} exports refused (busy: exporters retry)"
    return text


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
