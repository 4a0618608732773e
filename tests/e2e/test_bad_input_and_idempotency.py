"""Bad input gets a stable error code and loses nothing; a replayed key never makes a second order."""

from __future__ import annotations

import uuid

import httpx

from tests.e2e.conftest import Shop


def test_invalid_body_is_422_with_field_errors(shop: Shop) -> None:
    response = httpx.post(
        f"{shop.url}/checkout",
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json={"account_id": "acct-0001", "email": "nope", "region": "mars", "items": []},
        timeout=10,
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed"
    fields = {d["field"] for d in body["details"]}
    assert {"body.email", "body.region", "body.items", "body.payment"} <= fields
    assert "nope" not in response.text  # the input is never echoed back


def test_missing_idempotency_key_is_400(shop: Shop) -> None:
    response = httpx.post(
        f"{shop.url}/checkout",
        json={
            "account_id": "acct-0001",
            "email": "a@example.com",
            "region": "us-east",
            "items": [{"sku": "SKU-MUG", "quantity": 1}],
            "payment": {"card_token": "tok_visa"},
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "missing_idempotency_key"


def test_unknown_sku_is_404_and_takes_no_stock(shop: Shop) -> None:
    before = shop.stock("SKU-BOOK")
    response = shop.checkout(items=[{"sku": "SKU-BOOK", "quantity": 1}, {"sku": "SKU-NOPE", "quantity": 1}])
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_sku"
    assert response.json()["details"] == ["SKU-NOPE"]
    assert shop.stock("SKU-BOOK") == before


def test_unknown_account_is_404(shop: Shop) -> None:
    response = shop.checkout(account="acct-9999")
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_account"


def test_out_of_stock_is_409_and_no_partial_reservation_survives(shop: Shop) -> None:
    lamp_before, rare_before = shop.stock("SKU-LAMP"), shop.stock("SKU-RARE")
    response = shop.checkout(
        items=[{"sku": "SKU-LAMP", "quantity": 2}, {"sku": "SKU-RARE", "quantity": rare_before + 1}]
    )
    assert response.status_code == 409
    assert response.json()["error"] == "out_of_stock"
    assert shop.stock("SKU-LAMP") == lamp_before
    assert shop.stock("SKU-RARE") == rare_before


def test_decline_is_402_and_releases_stock(shop: Shop) -> None:
    before = shop.stock("SKU-KEYB")
    key = f"decline-{uuid.uuid4()}"
    response = shop.checkout(key, items=[{"sku": "SKU-KEYB", "quantity": 3}], card_token="tok_decline")
    assert response.status_code == 402
    assert response.json()["error"] == "payment_declined"
    assert shop.stock("SKU-KEYB") == before
    # The order id this attempt claimed: every table is asked about THIS order, so a declined
    # checkout that left an order, its lines or an invoice job behind fails here.
    ((order_id, state, status),) = shop.sql(
        "SELECT order_id, state, response_status FROM checkout.idempotency_keys WHERE key = :k", k=key
    )
    assert (state, status) == ("completed", 402)  # settled: a replay answers 402 again
    assert shop.sql("SELECT status FROM payment.authorizations WHERE order_id = :o", o=order_id) == [
        ("declined",)
    ]
    for table, column in (
        ("checkout.orders", "order_id"),
        ("checkout.order_items", "order_id"),
        ("checkout.outbox", "payload->>'order_id'"),
    ):
        rows = shop.sql(f"SELECT count(*) FROM {table} WHERE {column} = :o", o=order_id)
        assert rows == [(0,)], f"a declined checkout wrote to {table}"


def test_replayed_key_returns_the_same_answer_and_one_order_one_charge(shop: Shop) -> None:
    key = f"replay-{uuid.uuid4()}"
    first = shop.checkout(key, items=[{"sku": "SKU-CHAIR", "quantity": 1}])
    second = shop.checkout(key, items=[{"sku": "SKU-CHAIR", "quantity": 1}])
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    order_id = first.json()["order_id"]
    assert shop.sql("SELECT count(*) FROM checkout.orders WHERE order_id = :o", o=order_id)[0][0] == 1
    assert shop.sql("SELECT count(*) FROM payment.authorizations WHERE order_id = :o", o=order_id)[0][0] == 1
    assert (
        shop.sql("SELECT count(*) FROM checkout.outbox WHERE payload->>'order_id' = :o", o=order_id)[0][0]
        == 1
    )


def test_replayed_decline_is_replayed_not_retried(shop: Shop) -> None:
    key = f"replay-{uuid.uuid4()}"
    first = shop.checkout(key, card_token="tok_decline")
    second = shop.checkout(key, card_token="tok_decline")
    assert first.status_code == second.status_code == 402
    assert first.json() == second.json()


def test_same_key_with_another_body_is_409(shop: Shop) -> None:
    key = f"reuse-{uuid.uuid4()}"
    assert shop.checkout(key, items=[{"sku": "SKU-MUG", "quantity": 1}]).status_code == 201
    response = shop.checkout(key, items=[{"sku": "SKU-MUG", "quantity": 2}])
    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_key_reused"


def test_order_lookup(shop: Shop) -> None:
    created = shop.checkout(items=[{"sku": "SKU-BOOK", "quantity": 2}]).json()
    found = httpx.get(f"{shop.url}/orders/{created['order_id']}", timeout=10)
    assert found.status_code == 200
    assert found.json()["lines"] == [{"sku": "SKU-BOOK", "quantity": 2, "unit_price_cents": 900}]
    assert "email" not in found.json()
    missing = httpx.get(f"{shop.url}/orders/{uuid.uuid4()}", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "order_not_found"
