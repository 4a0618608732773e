"""The provider misbehaves: retries are visible span by span, 503 after the budget, stock back."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import Shop
from tests.support import poll_until


def test_rate_limits_are_retried_with_one_client_span_per_attempt_then_503(shop: Shop) -> None:
    before = shop.stock("SKU-LAMP")
    key = f"ratelimited-{uuid.uuid4()}"
    shop.set_fault("authorize:ap-south", rate_limit_rate=1.0, retry_after_s=0)
    try:
        response = shop.checkout(key, region="ap-south", items=[{"sku": "SKU-LAMP", "quantity": 1}])
    finally:
        shop.reset_faults()
    assert response.status_code == 503
    assert response.json()["error"] == "payment_provider_unavailable"
    assert response.headers["Retry-After"]
    assert shop.stock("SKU-LAMP") == before

    spans = shop.spans_until(shop.trace_of(response), {"payment.authorize", "inventory.release"})
    attempts = sorted(
        (
            s
            for s in spans
            if s.service_name == "payment"
            and s.kind == "CLIENT"
            and s.attributes.get("server.port") == shop.config.provider_port
        ),
        key=lambda s: s.start_unix_nano,
    )
    assert [a.attributes["retry.attempt"] for a in attempts] == [0, 1, 2, 3]
    assert all(a.attributes["http.response.status_code"] == 429 for a in attempts)
    authorize = next(s for s in spans if s.name == "payment.authorize")
    assert authorize.status_code == "ERROR"
    assert authorize.attributes["error.type"] == "payment_provider_unavailable"

    def rate_limit_logs() -> list[object] | None:
        logs = [
            log
            for log in shop.store.logs(trace_id=authorize.trace_id)
            if log.attributes.get("provider.status_code") == 429
        ]
        # Log batches arrive independently: wait for all four attempts' lines, not the first.
        return logs if len(logs) >= 4 else None

    logs = poll_until(rate_limit_logs, "the provider's 429 in the logs of all four attempts")
    assert len(logs) == 4
    # Logged after each attempt returns, inside the business span they explain.
    assert {log.span_id for log in logs} == {authorize.span_id}

    # The same key after the provider recovers: the checkout runs again and succeeds, once.
    retried = shop.checkout(key, region="ap-south", items=[{"sku": "SKU-LAMP", "quantity": 1}])
    assert retried.status_code == 201, retried.text
    assert shop.stock("SKU-LAMP") == before - 1


def test_retry_metric_counts_by_region_and_reason(shop: Shop) -> None:
    shop.set_fault("authorize:eu-west", rate_limit_rate=1.0, retry_after_s=0)
    try:
        shop.checkout(region="eu-west")
    finally:
        shop.reset_faults()

    def retries() -> float | None:
        points = [
            p
            for p in shop.store.metric_points(name="payment.provider.retries")
            if p.attributes == {"region": "eu-west", "retry.reason": "rate_limited"}
        ]
        # An export may land mid-checkout: wait for the point that counts all three retries.
        return points[-1].value if points and (points[-1].value or 0) >= 3 else None

    assert poll_until(retries, "payment.provider.retries{eu-west, rate_limited} >= 3") >= 3


def test_a_slow_region_shows_in_the_payment_span(shop: Shop) -> None:
    shop.set_fault("authorize:eu-west", latency_ms=600)
    try:
        response = shop.checkout(region="eu-west")
    finally:
        shop.reset_faults()
    assert response.status_code == 201
    spans = shop.spans_until(shop.trace_of(response), {"provider.authorize", "payment.authorize"})
    authorize = next(s for s in spans if s.name == "payment.authorize")
    assert authorize.duration_ms >= 600
    assert authorize.attributes["region"] == "eu-west"
