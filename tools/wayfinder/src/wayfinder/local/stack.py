"""Local mode: Postgres, Redis, the telemetry store, migrations and every service, in order."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from wayfinder.local import prometheus as local_prometheus
from wayfinder.local.config import LocalConfig
from wayfinder.local.ports import PortNeed
from wayfinder.local.ports import check as check_ports
from wayfinder.local.prerequisites import MissingPrerequisite, prometheus_server
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
# The LocalConfig field (and so WAYFINDER_ variable) that sets each HTTP service's port.
_PORT_FIELDS = {
    "payment-provider": "provider_port",
    "inventory": "inventory_port",
    "payment": "payment_port",
    "checkout-api": "checkout_port",
}

Report = Callable[[str], None]


@dataclass
class ComponentStatus:
    name: str
    running: bool
    detail: str
    required: bool = True  # an optional extra (Prometheus) that is absent is not a failure


class LocalStack:
    def __init__(
        self, config: LocalConfig, report: Report = print, cgroups: dict[str, Path] | None = None
    ) -> None:
        self.config = config
        self.report = report
        # Service name -> the cgroup it starts in (benchmarks/memory.py measures each one).
        self.cgroups = cgroups or {}
        self.processes = ProcessTable(config.run_dir, config.log_dir)
        self.postgres = PostgresServer(config.home / "postgres" / "data", config.postgres_port)
        self.redis = RedisServer(config.home / "redis", config.redis_port)
        self._prometheus_line = ""

    def ports(self) -> dict[str, int]:
        return {name: getattr(self.config, field) for name, field in _PORT_FIELDS.items()}

    @property
    def heartbeat_file(self) -> Path:
        return self.config.run_dir / "outbox-relay.heartbeat"

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
                "HEARTBEAT_FILE": str(self.heartbeat_file),
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

    def port_needs(self) -> list[PortNeed]:
        """Every port `up` would open, except those our own running components already hold."""
        c = self.config
        needs = [
            (PortNeed("postgres", c.postgres_port, "WAYFINDER_POSTGRES_PORT"), self.postgres.is_running()),
            (PortNeed("redis", c.redis_port, "WAYFINDER_REDIS_PORT"), self.redis.is_running()),
        ]
        if c.uses_embedded_store:
            store = PortNeed(STORE, c.store_port, "WAYFINDER_STORE_PORT")
            needs.append((store, self.processes.pid(STORE) is not None))
            if _installed(prometheus_server):  # optional: no binary, no port to claim
                prometheus = PortNeed("prometheus", c.prometheus_port, "WAYFINDER_PROMETHEUS_PORT")
                needs.append((prometheus, self.processes.pid(local_prometheus.NAME) is not None))
        for name, port in self.ports().items():
            variable = f"WAYFINDER_{_PORT_FIELDS[name].upper()}"
            needs.append((PortNeed(name, port, variable), self.processes.pid(name) is not None))
        return [need for need, ours in needs if not ours]

    def up(self) -> None:
        """Start everything; independent parts at the same time (docs/local-mode.md, timings)."""
        c = self.config
        check_ports(self.port_needs())
        self.report(f"state folder: {c.home}")
        # Nothing here depends on anything else: the provider simulator has no database.
        first = [self.postgres.start, self.redis.start, self._start_provider]
        if c.uses_embedded_store:
            first.append(self._start_store)
        _together(first)
        self.report(f"  postgres         127.0.0.1:{c.postgres_port}")
        self.report(f"  redis            127.0.0.1:{c.redis_port}")
        if c.uses_embedded_store:
            self.report(f"  telemetry        OTLP on 127.0.0.1:{c.store_port} -> {c.store_db}")
            self.report(self._prometheus_line)
        else:
            self.report(f"  telemetry        exported to {c.otlp_endpoint} (no embedded store)")
        # The HTTP services and the Celery worker touch tables only when a request or a job
        # arrives, and none can before `up` returns: they import (seconds each) while the
        # migrations run. The relay reads the outbox table at once, so it starts after them.
        started = time.time()
        for name, module in HTTP_SERVICES:
            self._start(name, module, "serve")
        self._start(*WORKERS[0])
        # One process runs every service's own migrate(): the imports are most of the cost.
        subprocess.run(
            [sys.executable, "-m", "wayfinder.local.migrate", *MIGRATING_MODULES],
            env=self.service_env("migrations"),
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.report("  migrations       applied")
        self._start(*WORKERS[1])
        waits: list[Callable[[], None]] = [
            functools.partial(self._wait_ready, name, port) for name, port in self.ports().items()
        ]
        waits.append(functools.partial(self._wait_relay, started))
        _together(waits)
        # Last: the worker answers once its pool has forked, after the services are up.
        self._wait_invoice_worker()
        for name, port in self.ports().items():
            self.report(f"  {name:<17} http://127.0.0.1:{port}")
        for name, _, _ in WORKERS:
            self.report(f"  {name:<17} running")

    def _start(self, name: str, module: str, command: str) -> None:
        argv = [sys.executable, "-m", module, command]
        self.processes.start(ProcessSpec(name, argv, self.service_env(name), self.cgroups.get(name)))

    def _start_provider(self) -> None:
        self._start(*HTTP_SERVICES[0], "serve")

    def _start_store(self) -> None:
        """The store, then the local Prometheus that reads it (while Postgres and Redis start)."""
        c = self.config
        argv = [sys.executable, "-m", "wayfinder.store", "--db", str(c.store_db)]
        argv += ["--host", "127.0.0.1", "--port", str(c.store_port)]
        argv += ["--forward", c.otlp_forward] if c.otlp_forward else []
        argv += ["--max-age", c.store_max_age, "--max-size", c.store_max_size]
        self.processes.start(ProcessSpec(STORE, argv, dict(os.environ)))
        wait_for(
            lambda: _http_ok(f"http://127.0.0.1:{c.store_port}/healthz"),
            "the telemetry store",
            30,
            self._log_hint(STORE),
        )
        # Local Prometheus and OTLP forwarding: wayfinder.local.prometheus, wayfinder.store.forward.
        self._prometheus_line = local_prometheus.start_for(c, self.processes)[1]

    def _wait_ready(self, name: str, port: int) -> None:
        ready_url = f"http://127.0.0.1:{port}/readyz"
        wait_for(functools.partial(_http_ok, ready_url), f"{name} to be ready", 60, self._log_hint(name))

    def _wait_invoice_worker(self) -> None:
        name = WORKERS[0][0]
        wait_for(self._worker_answers, f"{name} to be healthy", 60, self._log_hint(name))

    def _worker_answers(self) -> bool:
        """What `invoice_worker healthcheck` checks (a worker answers a ping over the broker),
        asked from here: a Python process per try costs seconds of imports on a busy machine."""
        from celery import Celery

        probe = Celery("wayfinder-up", broker=self.redis.url)
        try:
            return bool(probe.control.ping(timeout=1.0))
        except OSError:  # the broker refused: not up yet
            return False
        finally:
            probe.close()

    def _wait_relay(self, started: float) -> None:
        """The relay touches its heartbeat file on every loop (what its own healthcheck reads)."""
        heartbeat = self.heartbeat_file

        def beating() -> bool:
            try:
                return heartbeat.stat().st_mtime >= started - 1
            except FileNotFoundError:
                return False

        wait_for(beating, "outbox-relay to be healthy", 60, self._log_hint("outbox-relay"))

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


def _installed(find: Callable[[], object]) -> bool:
    try:
        find()
    except MissingPrerequisite:
        return False
    return True


def _together(steps: list[Callable[[], None]]) -> None:
    """Run the steps in threads and wait for all; the first failure is raised (after the rest end)."""
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = [pool.submit(step) for step in steps]
    for future in futures:
        future.result()


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
