"""A switched-on fault leaves no trace of itself in the telemetry of real processes: no hook,
scope key, scenario or state-file name in any span, event, log or metric attribute or resource,
and reading the fault state produces no span of its own."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
from wayfinder.scenarios import catalog
from wayfinder_common.faulthooks import HOOKS

from tests.e2e.conftest import Shop
from tests.support import poll_until

FAULTS: list[tuple[str, str, dict[str, Any]]] = [
    ("provider.latency", "ap-south", {"latency_ms": 150}),
    ("provider.rate_limit", "eu-west", {"rate_per_s": 0.5, "burst": 1, "retry_after_s": 0}),
    ("db.statement_delay", "all", {"delay_ms": 5}),
    ("inventory.lock_hold", "SKU-BOOK", {"hold_ms": 50}),
    ("invoice.gateway_failure", "pro", {"error_rate": 1.0}),
    ("relay.drop_context", "all", {"drop_rate": 1.0}),
    ("route.crash", "get_order", {"crash_rate": 1.0}),
    ("release.regression", "inventory", {"version": "9.9.9", "route": "/reservations", "latency_ms": 1}),
]


EFFECT_WORDS = {"latency", "rate_limit", "unavailable"}


def _forbidden(shop: Shop) -> set[str]:
    words = {"fault", "faults.token", "wayfinder.scenarios", str(shop.config.home / "faults")}
    words |= {shop.faults.token}
    for name in HOOKS:
        # The full name, and its distinctive half ("lock_hold"); "rate_limit" or "latency" are
        # also the shop's own words for the effects a trainee is meant to see.
        suffix = name.split(".", 1)[1]
        words |= {name} if suffix in EFFECT_WORDS else {name, suffix}
    words |= set(catalog.load_all())
    return {w.lower() for w in words}


def _strings(attributes: dict[str, Any]) -> Iterable[str]:
    for key, value in attributes.items():
        yield key
        yield from (str(v) for v in (value if isinstance(value, list | tuple) else [value]))


def _leaks(texts: Iterable[str], forbidden: set[str]) -> list[str]:
    # A word, not a substring: "default" must not count as "fault".
    patterns = [re.compile(rf"(?<![a-z]){re.escape(word)}") for word in forbidden]
    return sorted({t for t in texts for p in patterns if p.search(t.lower())})


def test_faults_are_invisible_in_spans_logs_metrics_and_resources(shop: Shop) -> None:
    since = time.time_ns()
    for hook, scope, params in FAULTS:
        shop.faults.switch_on(hook, scope, params)
    try:
        responses = [
            shop.checkout(
                f"invisible-{uuid.uuid4()}",
                region=region,
                account=account,
                items=[{"sku": sku, "quantity": 1}],
            )
            for region, account, sku in [
                ("eu-west", "acct-0001", "SKU-BOOK"),  # acct-0001 is tier "pro": its invoice fails
                ("eu-west", "acct-0002", "SKU-MUG"),
                ("ap-south", "acct-0003", "SKU-BOOK"),
                ("us-east", "acct-0004", "SKU-MUG"),
            ]
        ]
        # relay.drop_context breaks these orders' traces on purpose: not a contract violation.
        shop.deliberately_broken_orders |= {r.json()["order_id"] for r in responses if r.status_code == 201}
        assert {r.status_code for r in responses} <= {201, 503}
        assert any(r.status_code == 201 for r in responses)
        # The crash's exception (type, message, stack trace) is on a span and a log: it must not
        # name the hook either.
        order_id = next(r for r in responses if r.status_code == 201).json()["order_id"]
        assert httpx.get(f"{shop.url}/orders/{order_id}", timeout=10).status_code == 500
        # The faults had effects (so the check below looks at a run where they were really on):
        poll_until(
            lambda: [
                s
                for s in shop.store.spans(name="provider.invoice", since_unix_nano=since)
                if s.attributes.get("provider.decision") == "error"
            ],
            "an invoice refused by the tier-scoped gateway failure",
            timeout_s=60,
        )
        poll_until(
            lambda: [
                s
                for s in shop.store.spans(name="outbox.publish", since_unix_nano=since)
                if s.parent_span_id is None
            ],
            "an outbox.publish that lost its context (a root span)",
            timeout_s=60,
        )
    finally:
        shop.faults.reset()
    poll_until(
        lambda: shop.store.metric_points(since_unix_nano=since), "metric points exported during the run"
    )

    forbidden = _forbidden(shop)
    spans = shop.store.spans(since_unix_nano=since)
    logs = shop.store.logs(since_unix_nano=since)
    points = shop.store.metric_points(since_unix_nano=since)
    texts: list[str] = []
    for span in spans:
        texts += [span.name, span.status_message, *_strings(span.attributes), *_strings(span.resource)]
        for event in span.events:
            texts += [event.name, *_strings(event.attributes)]
    for log in logs:
        texts += [log.body, *_strings(log.attributes), *_strings(log.resource)]
    for point in points:
        texts += [point.name, *_strings(point.attributes), *_strings(point.resource)]
    assert spans and logs and points
    assert _leaks(texts, forbidden) == []
    # Reading the state is a stat and a file read: no span names it, no span touches its path.
    assert not [s for s in spans if "state" in s.name.lower() and s.kind != "INTERNAL"]
