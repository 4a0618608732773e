"""The telemetry path has failure modes too: with the collector gone, requests are not blocked
and a service still stops within its grace period (the article's "forgetting that telemetry has
failure modes")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from tests.support import free_port, poll_until

# What local mode (processes.ProcessTable.stop) and docker compose give a process after SIGTERM.
GRACE_S = 10.0


def test_a_dead_collector_neither_blocks_requests_nor_stalls_shutdown(tmp_path) -> None:
    port = free_port()
    dead_collector = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        {
            "PORT": str(port),
            "OTEL_EXPORTER_OTLP_ENDPOINT": dead_collector,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "500",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "5",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = (tmp_path / "provider.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "payment_provider", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        poll_until(healthy, "payment-provider to serve with a dead collector")
        statuses = [
            httpx.post(
                f"{base}/v1/authorizations",
                headers={"Idempotency-Key": f"k{n}"},
                timeout=5,
                json={"amount_cents": 100, "region": "us-east", "card_token": "tok_x"},
            ).status_code
            for n in range(20)
        ]
        assert statuses == [200] * 20
        poll_until(
            lambda: b"Failed to export" in (tmp_path / "provider.log").read_bytes(),
            "the exporter to report the dead collector on stdout",
        )
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises SIGTERM once its graceful shutdown is done: -15 is a clean exit.
        assert process.wait(timeout=GRACE_S) in (0, -signal.SIGTERM)
        assert b"Application shutdown complete" in (tmp_path / "provider.log").read_bytes()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
