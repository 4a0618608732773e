"""`python -m benchmarks`: checkout latency with and without telemetry (sequential, and under
concurrent load with the endpoint healthy and dead: benchmarks/concurrency.py), `make up` to the
first trace (benchmarks/startup.py), the contract check over a large store
(benchmarks/contract_check.py), the store's ingest rate (benchmarks/store_ingest.py) and each
service's memory peak against its compose limit (benchmarks/memory.py), against targets.

Starts the shop twice in local mode (throwaway Postgres/Redis on free ports), places the same
sequence of orders, and reports p50/p95 and the telemetry overhead. Exit 1 if a target is missed.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from wayfinder.local.config import isolated_config
from wayfinder.local.stack import LocalStack
from wayfinder.scenarios.control import FaultControl
from wayfinder.scenarios.paths import StatePaths
from wayfinder.store.db import TelemetryStore
from wayfinder.store.server import OTLPReceiver

from benchmarks import concurrency, contract_check, memory, startup, store_ingest

ORDERS = int(os.environ.get("BENCH_ORDERS", "150"))
WARMUP = 10
# Targets for a 2-core machine, every process on it: the whole checkout (three services, two
# databases round trips each, provider simulator ~40 ms) and what instrumenting it all costs.
TARGET_P95_MS = 250.0
TARGET_OVERHEAD_MS = 25.0


def _run(telemetry: bool, root: Path) -> list[float]:
    store = TelemetryStore(root / "telemetry.db")
    receiver = OTLPReceiver(store, port=0).start()
    config = isolated_config(root / "home", receiver.endpoint, "bench")
    os.environ["TELEMETRY_ENABLED"] = "true" if telemetry else "false"
    stack = LocalStack(config, report=lambda _: None)
    timings: list[float] = []
    try:
        stack.up()
        with httpx.Client(base_url=config.checkout_url, timeout=30) as client:
            # No jitter in the simulated provider: we measure our code, not the simulation's dice.
            FaultControl(StatePaths(config.home)).switch_on(
                "provider.behaviour", "authorize:us-east", {"latency_ms": 40}
            )
            for n in range(WARMUP + ORDERS):
                body = {
                    "account_id": "acct-0001",
                    "email": "bench@example.com",
                    "region": "us-east",
                    "items": [{"sku": "SKU-MUG", "quantity": 1}],
                    "payment": {"card_token": "tok_b"},
                }
                started = time.perf_counter()
                response = client.post("/checkout", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                if n >= WARMUP:
                    timings.append(elapsed)
                if (n + 1) % 50 == 0:
                    print(
                        f"  {'with' if telemetry else 'without'} telemetry: {n + 1}/{WARMUP + ORDERS} orders",
                        flush=True,
                    )
    finally:
        stack.down()
        receiver.stop()
        store.close()
        os.environ.pop("TELEMETRY_ENABLED", None)
    return timings


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> int:
    print(f"checkout latency benchmark: {ORDERS} sequential orders per run (after {WARMUP} warm-up)")
    with tempfile.TemporaryDirectory() as bare_dir, tempfile.TemporaryDirectory() as otel_dir:
        bare = _run(False, Path(bare_dir))
        instrumented = _run(True, Path(otel_dir))
    rows = [("without telemetry", bare), ("with telemetry", instrumented)]
    for name, values in rows:
        print(f"  {name:<18} p50 {_p(values, 50):7.1f} ms   p95 {_p(values, 95):7.1f} ms")
    overhead = _p(instrumented, 50) - _p(bare, 50)
    p95 = _p(instrumented, 95)
    print(f"  telemetry overhead at p50: {overhead:+.1f} ms (target <= {TARGET_OVERHEAD_MS} ms)")
    print(f"  p95 with telemetry: {p95:.1f} ms (target <= {TARGET_P95_MS} ms)")
    ok = overhead <= TARGET_OVERHEAD_MS and p95 <= TARGET_P95_MS
    ok = concurrency.main() and ok
    ok = startup.main() and ok
    ok = contract_check.main() and ok
    ok = store_ingest.main() and ok
    ok = memory.main() and ok
    print("PASS" if ok else "FAIL: a target was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
