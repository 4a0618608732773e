"""What the scenario tests share: the `wayfinder` CLI run as a trainer or trainee would run it
against the test's shop and local Prometheus, and which rule folder that Prometheus evaluates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from wayfinder.local.prometheus import LocalPrometheus

from tests.e2e.conftest import Shop
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


def wayfinder(
    shop: Shop,
    *args: str,
    prometheus: LocalPrometheus | None = None,
    stdin: str | None = None,
    timeout_s: float = 120,
    embedded_store: bool = False,
    **extra: str,
) -> subprocess.CompletedProcess[str]:
    """`embedded_store`: the CLI reads the shop's store as local mode's own (the query layer),
    rather than being told that telemetry goes to an outside endpoint."""
    c = shop.config
    # The CLI finds the local Prometheus, and rewrites its config, from the same settings.
    ports = (
        {"STORE": c.store_port, "PROMETHEUS": free_port()}
        if prometheus is None
        else {"STORE": prometheus.config.store_port, "PROMETHEUS": prometheus.config.prometheus_port}
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYFINDER_")}
    env.update(extra)
    env.update(
        {
            "WAYFINDER_HOME": str(c.home),
            "WAYFINDER_MODE": "local",
            **({} if embedded_store else {"OTEL_EXPORTER_OTLP_ENDPOINT": c.otlp_endpoint}),
            "WAYFINDER_ENVIRONMENT": c.environment,
            **{
                f"WAYFINDER_{n.upper()}_PORT": str(getattr(c, f"{n}_port"))
                for n in ("postgres", "redis", "checkout", "inventory", "payment", "provider")
            },
            **{f"WAYFINDER_{n}_PORT": str(p) for n, p in ports.items()},
        }
    )
    command = [sys.executable, "-m", "wayfinder.cli", *args]
    return subprocess.run(
        command, env=env, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=timeout_s
    )


def rule_folders(prometheus: LocalPrometheus) -> set[str] | None:
    files = prometheus.rule_files()
    return None if not files else {Path(f).parent.name for f in files}
