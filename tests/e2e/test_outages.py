"""Dependency outages: a clear 503 or a delay, recovery without restarts, nothing lost or doubled."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import Shop
from tests.support import poll_until


def test_orders_placed_while_redis_is_down_get_exactly_one_invoice_after_it_returns(shop: Shop) -> None:
    shop.stack.redis.stop()
    try:
        responses = [shop.checkout(items=[{"sku": "SKU-BOOK", "quantity": 1}]) for _ in range(5)]
        assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
        order_ids = [r.json()["order_id"] for r in responses]

        def failed_publish() -> bool:
            spans = shop.store.spans(trace_id=shop.trace_of(responses[0]), name="outbox.publish")
            return any(s.status_code == "ERROR" for s in spans)

        # The relay keeps the rows and keeps trying: its failed attempts are in the order's trace.
        poll_until(failed_publish, "a failed outbox.publish while Redis is down")
        pending = shop.sql(
            "SELECT count(*) FROM checkout.outbox WHERE published_at IS NULL "
            "AND payload->>'order_id' = ANY(:ids)",
            ids=order_ids,
        )
        assert pending[0][0] == 5
    finally:
        shop.stack.redis.start()

    def invoiced() -> bool:
        rows = shop.sql(
            "SELECT order_id, count(*), min(status) FROM invoice.invoices "
            "WHERE order_id = ANY(:ids) GROUP BY order_id",
            ids=order_ids,
        )
        return len(rows) == 5 and all(count == 1 and status == "issued" for _, count, status in rows)

    poll_until(invoiced, "one issued invoice for each of the 5 orders", timeout_s=90)
    # And the invoice joined the checkout's trace despite the outage in between.
    spans = shop.spans_until(shop.trace_of(responses[0]), {"invoice.create"}, timeout_s=30)
    assert {s.trace_id for s in spans} == {shop.trace_of(responses[0])}


def test_postgres_down_is_a_clear_503_and_recovers_without_restarts(shop: Shop) -> None:
    shop.stack.postgres.stop()
    assert not shop.stack.postgres.accepts_connections()
    try:
        response = shop.checkout()
        assert response.status_code == 503
        assert response.json()["error"] == "database_unavailable"
        assert response.headers["Retry-After"]
    finally:
        shop.stack.postgres.start()

    def recovered() -> bool:
        return shop.checkout(f"after-pg-{uuid.uuid4()}").status_code == 201

    poll_until(recovered, "a 201 from checkout after Postgres came back", timeout_s=60)
    order = shop.checkout().json()

    def invoiced() -> bool:
        rows = shop.sql("SELECT status FROM invoice.invoices WHERE order_id = :o", o=order["order_id"])
        return rows == [("issued",)]

    poll_until(invoiced, "the worker and relay to recover and invoice a new order", timeout_s=60)
