"""The metric names real processes export are the ones committed in telemetry/captured/metrics.json.

Dashboards and alert rules are checked against that file (tests/stack), so a renamed metric in
code fails here and a typo in a panel fails there. WAYFINDER_UPDATE_CAPTURE=1 rewrites the file.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import CARD_TOKEN, Shop
from tests.support import SHOP_METRICS, poll_until

CAPTURE = Path(__file__).resolve().parents[2] / "telemetry" / "captured" / "metrics.json"
# Every metric the shop defines; each must be seen before the comparison is meaningful.
EXPECTED = {*SHOP_METRICS, "http.server.request.duration", "http.client.request.duration"}


def _exercise_every_metric(shop: Shop) -> None:
    assert shop.checkout().status_code == 201
    shop.set_fault("authorize:us-east", rate_limit_rate=1.0, retry_after_s=0)
    try:
        assert shop.checkout().status_code == 503
    finally:
        shop.reset_faults()
    # A payment whose retry budget holds one retry: the second failure finds it spent.
    with shop.extra_service(
        "payment", "payment", RETRY_BUDGET_RATIO="0", RETRY_BUDGET_MIN_PER_WINDOW="1"
    ) as payment:
        shop.set_fault("authorize:us-east", rate_limit_rate=1.0, retry_after_s=0)
        try:
            for _ in range(2):
                answer = httpx.post(
                    f"{payment}/authorizations",
                    json={
                        "order_id": str(uuid.uuid4()),
                        "account_id": "acct-0001",
                        "region": "us-east",
                        "amount_cents": 1200,
                        "card_token": CARD_TOKEN,
                    },
                    timeout=30,
                )
                assert answer.status_code == 503, answer.text
        finally:
            shop.reset_faults()
    # The invoice gateway fails once: a failure is counted, the retry then issues the invoice.
    shop.set_fault("invoice", error_rate=1.0)
    try:
        assert shop.checkout().status_code == 201
        poll_until(
            lambda: "invoice.create.failures" in shop.store.metric_names(), "an invoice.create.failures point"
        )
    finally:
        shop.reset_faults()


def _summary(points: list[Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for p in points:
        entry = found.setdefault(
            p.name,
            {
                "name": p.name,
                "kind": p.kind,
                "unit": p.unit,
                "monotonic": p.monotonic,
                "attributes": set(),
                "services": set(),
            },
        )
        entry["attributes"].update(p.attributes)
        entry["services"].add(p.service_name)
    return found


def test_exported_metrics_match_the_committed_capture(shop: Shop) -> None:
    _exercise_every_metric(shop)
    poll_until(lambda: set(shop.store.metric_names()) >= EXPECTED, f"every metric of {sorted(EXPECTED)}")
    seen = _summary(shop.store.metric_points())
    if os.environ.get("WAYFINDER_UPDATE_CAPTURE") == "1":
        metrics = [
            {**e, "attributes": sorted(e["attributes"]), "services": sorted(e["services"])}
            for e in sorted(seen.values(), key=lambda e: e["name"])
        ]
        CAPTURE.write_text(json.dumps({"metrics": metrics}, indent=2) + "\n")
    committed = {m["name"]: m for m in json.loads(CAPTURE.read_text())["metrics"]}
    assert sorted(seen) == sorted(committed), "metric names differ: rerun with WAYFINDER_UPDATE_CAPTURE=1"
    for name, entry in seen.items():
        declared = committed[name]
        assert (entry["kind"], entry["unit"], entry["monotonic"]) == (
            declared["kind"],
            declared["unit"],
            declared["monotonic"],
        ), name
        # Other tests add attributes (error.type on timeouts...): the file holds the superset.
        assert entry["attributes"] <= set(declared["attributes"]), (name, entry["attributes"])
        assert entry["services"] <= set(declared["services"]), (name, entry["services"])
