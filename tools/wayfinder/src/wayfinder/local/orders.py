"""Placing one order against checkout-api and waiting for its whole trace to reach the store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

# The seeded accounts cycle tiers: acct-0001 pro, acct-0002 enterprise, acct-0003 free, ...
ACCOUNT_BY_TIER = {"pro": "acct-0001", "enterprise": "acct-0002", "free": "acct-0003"}


@dataclass(frozen=True)
class CheckoutResult:
    status: int
    body: dict[str, Any]
    trace_id: str | None


def trace_id_from_traceresponse(header: str | None) -> str | None:
    """`00-<trace id>-<span id>-<flags>` -> the trace id."""
    if not header:
        return None
    parts = header.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def place_order(
    base_url: str,
    key: str,
    *,
    region: str,
    tier: str,
    email: str,
    sku: str,
    quantity: int,
    card_token: str,
) -> CheckoutResult:
    body = {
        "account_id": ACCOUNT_BY_TIER[tier],
        "email": email,
        "region": region,
        "items": [{"sku": sku, "quantity": quantity}],
        "payment": {"card_token": card_token},
    }
    try:
        response = httpx.post(f"{base_url}/checkout", json=body, headers={"Idempotency-Key": key}, timeout=30)
    except httpx.HTTPError as exc:
        raise ConnectionError(
            f"checkout-api at {base_url} did not answer ({exc}); is `make up` running?"
        ) from exc
    try:
        payload = response.json()
    except ValueError:
        payload = {"raw": response.text[:200]}
    return CheckoutResult(
        response.status_code, payload, trace_id_from_traceresponse(response.headers.get("traceresponse"))
    )


def wait_for_trace(
    store: Any, result: CheckoutResult, export_delay_ms: int, timeout_s: float = 20.0
) -> list[Any]:
    """Poll the store until the trace looks whole (the async invoice hop included for a 201)."""
    deadline = time.monotonic() + timeout_s
    # Each process exports on its own timer, so the last span can land up to one export delay
    # after the others: "settled" must outlast that delay, or a hop would be cut off.
    settle_s = max(0.7, export_delay_ms / 1000 + 0.4)
    spans: list[Any] = []
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        latest = store.spans(trace_id=result.trace_id)
        if len(latest) != len(spans):
            spans, stable_since = latest, time.monotonic()
        has_root = any(s.parent_span_id is None for s in spans)
        invoiced = any(s.name == "invoice.create" for s in spans)
        settled = time.monotonic() - stable_since > settle_s
        if has_root and settled and (invoiced or result.status != 201):
            break
        time.sleep(0.2)
    return spans
