"""The README's promise, run as a user would: `wayfinder up`, `checkout`, `logs`, `down`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import free_port


def _wayfinder(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wayfinder.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _processes_using(home: Path) -> list[str]:
    """Command lines of live processes that mention the state folder (servers and services)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if str(home) in cmdline or str(home).encode() in environ:
            found.append(cmdline)
    return found


@pytest.mark.skipif(not Path("/proc").exists(), reason="process check reads /proc (Linux)")
def test_up_checkout_logs_down_leaves_nothing_running(tmp_path: Path) -> None:
    home = tmp_path / "wayfinder-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "WAYFINDER_"))}
    env.update(
        {
            "WAYFINDER_MODE": "local",
            "WAYFINDER_HOME": str(home),
            **{
                f"WAYFINDER_{name}_PORT": str(free_port())
                for name in (
                    *("POSTGRES", "REDIS", "STORE", "PROMETHEUS"),
                    *("CHECKOUT", "INVENTORY", "PAYMENT", "PROVIDER"),
                )
            },
        }
    )
    try:
        up = _wayfinder(env, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "wayfinder checkout" in up.stdout  # says where to look next

        placed = _wayfinder(env, "checkout", "--region", "ap-south", "--tier", "free", "--json")
        assert placed.returncode == 0, placed.stdout + placed.stderr
        summary = json.loads(placed.stdout)
        assert summary["http_status"] == 201 and summary["order_id"] and len(summary["trace_id"]) == 32
        assert summary["services"] == sorted(
            ["checkout-api", "inventory", "payment", "payment-provider", "outbox-relay", "invoice-worker"]
        )

        waterfall = _wayfinder(env, "trace", summary["trace_id"])
        assert waterfall.returncode == 0
        assert "checkout.place_order" in waterfall.stdout and "invoice.create" in waterfall.stdout

        logs = _wayfinder(env, "logs", "--trace", summary["trace_id"])
        assert logs.returncode == 0 and "order confirmed" in logs.stdout

        # The same log line on stdout, as JSON, with the ids a log search can pivot on.
        stdout_lines = (home / "logs" / "checkout-api.log").read_text().splitlines()
        confirmed = [
            json.loads(line) for line in stdout_lines if line.startswith("{") and '"order confirmed"' in line
        ]
        assert [c["trace_id"] for c in confirmed] == [summary["trace_id"]]
        assert len(confirmed[0]["span_id"]) == 16 and confirmed[0]["order.id"] == summary["order_id"]

        status = _wayfinder(env, "status")
        assert status.returncode == 0, status.stdout
        # The local Prometheus (wayfinder.local.prometheus), where the machine has one.
        prometheus_url = f"http://127.0.0.1:{env['WAYFINDER_PROMETHEUS_PORT']}"
        if shutil.which("prometheus") or Path("/usr/bin/prometheus").exists():
            assert f"{prometheus_url}/alerts" in up.stdout
            assert prometheus_url in status.stdout and "ready" in status.stdout
        else:
            assert up.stdout.count("alerts unavailable") == 1
    finally:
        down = _wayfinder(env, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert _processes_using(home) == []
    assert _wayfinder(env, "status").returncode != 0
