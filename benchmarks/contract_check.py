"""`python -m benchmarks.contract_check`: the contract check over a large store, time and memory.

Fills a throwaway store with checkout-shaped traces (the shop's span names and attribute
vocabulary, the sizes of a real export) and runs `wayfinder telemetry check --db` on it as
its own process, measuring wall time and peak resident memory. Goals (issue 11): 300,000
spans within 25 s and 300 MB; 1,000,000 spans without running out of memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from wayfinder.store.db import TelemetryStore
from wayfinder.store.model import LogRecordRow, SpanRecord

SIZES = [int(n) for n in os.environ.get("BENCH_CHECK_SPANS", "300000,1000000").split(",")]
GOAL_SPANS, GOAL_SECONDS, GOAL_MB = 300_000, 25.0, 300.0
REPO = Path(__file__).resolve().parents[1]
RESOURCE = {
    "service.version": "0.1.0",
    "deployment.environment.name": "bench",
    "service.namespace": "wayfinder",
    "telemetry.sdk.language": "python",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.version": "1.45.1",
}
# (name, kind, service, parent index, attributes): one checkout as the shop exports it.
SHAPE: list[tuple[str, str, str, int | None, dict[str, object]]] = [
    (
        "POST /checkout",
        "SERVER",
        "checkout-api",
        None,
        {"http.request.method": "POST", "http.route": "/checkout", "http.response.status_code": 201},
    ),
    (
        "checkout.place_order",
        "INTERNAL",
        "checkout-api",
        0,
        {
            "account.id": "acct-0001",
            "account.tier": "pro",
            "region": "eu-west",
            "order.item_count": 1,
            "checkout.outcome": "success",
        },
    ),
    (
        "POST",
        "CLIENT",
        "checkout-api",
        1,
        {
            "http.request.method": "POST",
            "http.response.status_code": 200,
            "server.address": "127.0.0.1",
            "server.port": 8081,
        },
    ),
    (
        "POST /reservations",
        "SERVER",
        "inventory",
        2,
        {"http.request.method": "POST", "http.route": "/reservations", "http.response.status_code": 200},
    ),
    ("inventory.reserve", "INTERNAL", "inventory", 3, {"order.item_count": 1}),
    (
        "POST",
        "CLIENT",
        "checkout-api",
        1,
        {
            "http.request.method": "POST",
            "http.response.status_code": 200,
            "server.address": "127.0.0.1",
            "server.port": 8082,
        },
    ),
    (
        "POST /authorizations",
        "SERVER",
        "payment",
        5,
        {"http.request.method": "POST", "http.route": "/authorizations", "http.response.status_code": 200},
    ),
    ("payment.authorize", "INTERNAL", "payment", 6, {"region": "eu-west", "payment.outcome": "authorized"}),
    (
        "POST",
        "CLIENT",
        "payment",
        7,
        {
            "http.request.method": "POST",
            "http.response.status_code": 200,
            "retry.attempt": 0,
            "server.address": "127.0.0.1",
            "server.port": 8083,
        },
    ),
    (
        "POST /v1/authorize",
        "SERVER",
        "payment-provider",
        8,
        {"http.request.method": "POST", "http.route": "/v1/authorize", "http.response.status_code": 200},
    ),
]


@dataclass(frozen=True)
class Result:
    spans: int
    seconds: float
    peak_mb: float
    exit_code: int


def fill(store: TelemetryStore, spans: int) -> None:
    """Checkout traces until `spans` spans are stored, written in export-sized batches."""
    start = time.time_ns() - spans * 1_000_000
    batch: list[SpanRecord] = []
    logs: list[LogRecordRow] = []
    for n in range(spans // len(SHAPE)):
        trace_id = uuid.uuid4().hex
        ids = [f"{n:08x}{i:08x}" for i in range(len(SHAPE))]
        order = str(uuid.uuid4())
        t0 = start + n * len(SHAPE) * 1_000_000
        for i, (name, kind, service, parent, attributes) in enumerate(SHAPE):
            extra = {"order.id": order} if name.startswith(("checkout.", "inventory.", "payment.")) else {}
            batch.append(
                SpanRecord(
                    trace_id,
                    ids[i],
                    None if parent is None else ids[parent],
                    name,
                    kind,
                    t0 + i * 1_000_000,
                    t0 + (len(SHAPE) - i) * 2_000_000,
                    "UNSET",
                    "",
                    service,
                    {**attributes, **extra},
                    {"service.name": service, **RESOURCE},
                    "opentelemetry.instrumentation" if kind != "INTERNAL" else service.replace("-", "_"),
                )
            )
        logs.append(
            LogRecordRow(
                t0,
                "INFO",
                9,
                "order confirmed",
                trace_id,
                ids[1],
                "checkout-api",
                {"order.id": order},
                {"service.name": "checkout-api", **RESOURCE},
                "checkout_api.service",
            )
        )
        if len(batch) >= 5000:
            store.add_spans(batch)
            store.add_logs(logs)
            batch, logs = [], []
    if batch:
        store.add_spans(batch)
        store.add_logs(logs)


def measure(spans: int, folder: Path) -> Result:
    db = folder / f"check-{spans}.db"
    with TelemetryStore(db) as store:
        fill(store, spans)
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wayfinder.cli",
            "telemetry",
            "check",
            "--db",
            str(db),
            "--registry",
            str(REPO / "telemetry" / "registry"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Result(spans, seconds, usage.ru_maxrss / 1024, process.returncode)


def main() -> int:
    print("contract check benchmark: `wayfinder telemetry check --db` over a filled store")
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        for spans in SIZES:
            print(f"  filling a store with {spans:,} spans ...", flush=True)
            result = measure(spans, Path(folder))
            verdict = ""
            if result.exit_code not in (0, 1):  # 1 = violations found: the check itself ran
                verdict, ok = "  FAIL: the check did not finish", False
            elif spans == GOAL_SPANS and (result.seconds > GOAL_SECONDS or result.peak_mb > GOAL_MB):
                verdict, ok = f"  FAIL: goal {GOAL_SECONDS:.0f} s and {GOAL_MB:.0f} MB", False
            print(f"  {spans:>9,} spans: {result.seconds:6.1f} s, peak {result.peak_mb:6.0f} MB{verdict}")
    print("PASS" if ok else "FAIL: a goal was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
