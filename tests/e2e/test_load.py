"""`wayfinder load`, run as a user would against the real shop: a JSON summary, marked spans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Shop
from tests.support import poll_until

REPO = Path(__file__).resolve().parents[2]
MARKER = "user_agent.synthetic.type"
# Where synthetic traffic enters a process: each hop is marked once, its inner spans are not.
ENTRY_SPANS = {
    ("checkout-api", "POST /checkout"),
    ("payment", "POST /authorizations"),
    ("outbox-relay", "outbox.publish"),
    ("invoice-worker", "run/invoice.create"),
}


def _load(shop: Shop, *args: str) -> subprocess.CompletedProcess[str]:
    # Found the way a user's shell finds it: local mode's settings name the checkout port.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "WAYFINDER_", "LOCUST_"))}
    env.update(
        {"WAYFINDER_HOME": str(shop.config.home), "WAYFINDER_CHECKOUT_PORT": str(shop.config.checkout_port)}
    )
    return subprocess.run(
        [sys.executable, "-m", "wayfinder.cli", "load", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_load_summarizes_the_run_and_its_spans_carry_the_synthetic_marker(shop: Shop) -> None:
    since = time.time_ns()
    run = _load(shop, "--duration", "8s", "--users", "2", "--json")
    assert run.returncode == 0, run.stdout + run.stderr

    summary: dict[str, Any] = json.loads(run.stdout)  # one JSON object, nothing else on stdout
    assert summary["target"] == shop.url and summary["users"] == 2
    assert summary["requests"] > 0
    assert isinstance(summary["failures_by_code"], dict)
    assert all(isinstance(code, str) and n > 0 for code, n in summary["failures_by_code"].items())
    assert sum(summary["failures_by_code"].values()) == summary["failures"]
    latency = summary["latency_ms"]
    assert 0 <= latency["p50"] <= latency["p95"] <= latency["p99"]
    assert summary["by_request"]["GET /products"]["requests"] > 0
    assert summary["journey_errors"] == 0
    assert "/8 s]" in run.stderr  # the progress line went to stderr

    def marked() -> dict[tuple[str, str], list[Any]] | None:
        found: dict[tuple[str, str], list[Any]] = {}
        for span in shop.store.spans(since_unix_nano=since):
            if MARKER in span.attributes:
                found.setdefault((span.service_name, span.name), []).append(span)
        # The baggage crossed every hop: HTTP to payment, the outbox row, the Celery message.
        return found if set(found) >= ENTRY_SPANS else None

    found = poll_until(marked, f"spans marked {MARKER} at {sorted(ENTRY_SPANS)}", timeout_s=60)
    spans = [span for group in found.values() for span in group]
    assert {span.attributes[MARKER] for span in spans} == {"test"}  # bounded: one value
    # Entry spans only: a server or consumer span, or the relay's span under the row's context.
    assert all(span.kind in ("SERVER", "CONSUMER") or span.name == "outbox.publish" for span in spans)
    checkout_traces = {s.trace_id for s in found[("checkout-api", "POST /checkout")]}
    inner = [s for s in shop.store.spans(name="checkout.place_order") if s.trace_id in checkout_traces]
    assert inner and not any(MARKER in s.attributes for s in inner)
