"""`python -m benchmarks.store_ingest`: how fast the embedded store takes OTLP, with retention on.

Eight exporter threads (the shop's processes) post checkout-shaped span exports, as protobuf
the way the SDK sends them, to a store with its default retention running, for a fixed time.
Goal (issue 11): at least 2,500 spans/s with no export refused; the heaviest load the load
generator drives on this machine is about 25 checkouts/s, about 1,250 spans/s.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from wayfinder.store.db import TelemetryStore
from wayfinder.store.encode import spans_request
from wayfinder.store.model import SpanRecord
from wayfinder.store.retention import Retention
from wayfinder.store.server import OTLPReceiver

from benchmarks.contract_check import RESOURCE, SHAPE

EXPORTERS = 8
SECONDS = float(os.environ.get("BENCH_INGEST_SECONDS", "20"))
GOAL_SPANS_PER_S = 2500.0
TRACES_PER_EXPORT = 5  # about what a 300 ms batch holds at load-test rates


def _export_body() -> bytes:
    spans: list[SpanRecord] = []
    now = time.time_ns()
    for _ in range(TRACES_PER_EXPORT):
        trace_id = uuid.uuid4().hex
        ids = [uuid.uuid4().hex[:16] for _ in SHAPE]
        for i, (name, kind, service, parent, attributes) in enumerate(SHAPE):
            spans.append(
                SpanRecord(
                    trace_id, ids[i], None if parent is None else ids[parent], name, kind,
                    now + i * 1_000_000, now + (len(SHAPE) - i) * 2_000_000, "UNSET", "",
                    service, dict(attributes), {"service.name": service, **RESOURCE}, service,
                )
            )  # fmt: skip
    return spans_request(spans).SerializeToString()


def main() -> bool:
    print(f"store ingest benchmark: {EXPORTERS} exporters for {SECONDS:.0f} s, default retention on")
    sent = refused = 0
    lock = threading.Lock()
    with tempfile.TemporaryDirectory() as folder:
        store = TelemetryStore(Path(folder) / "telemetry.db")
        with OTLPReceiver(store, port=0, retention=Retention()) as receiver:
            deadline = time.monotonic() + SECONDS

            def exporter() -> None:
                nonlocal sent, refused
                with httpx.Client(base_url=receiver.endpoint, timeout=10) as client:
                    while time.monotonic() < deadline:
                        body = _export_body()
                        answer = client.post(
                            "/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"}
                        )
                        with lock:
                            if answer.status_code == 200:
                                sent += TRACES_PER_EXPORT * len(SHAPE)
                            else:
                                refused += 1

            started = time.monotonic()
            threads = [threading.Thread(target=exporter) for _ in range(EXPORTERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        stored = store.scalar("SELECT COUNT(*) FROM spans")
        store.close()
    rate = sent / elapsed
    ok = rate >= GOAL_SPANS_PER_S and refused == 0 and stored == sent
    verdict = "" if ok else f"  FAIL: goal {GOAL_SPANS_PER_S:.0f} spans/s, none refused, none lost"
    load = os.getloadavg()[0]
    print(
        f"  {rate:,.0f} spans/s stored ({stored:,} spans), {refused} exports refused,"
        f" load {load:.1f}{verdict}"
    )
    return ok


if __name__ == "__main__":
    passed = main()
    print("PASS" if passed else "FAIL: a goal was missed")
    sys.exit(0 if passed else 1)
