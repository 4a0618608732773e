"""A checkout that dies mid-way is swept: its stock comes back and its payment hold is voided."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
import sqlalchemy

from tests.e2e.conftest import Shop
from tests.support import poll_until


def _kill_checkout_api(shop: Shop) -> None:
    """SIGKILL checkout-api: no graceful anything."""
    processes = shop.stack.processes
    pid = processes.pid("checkout-api")
    if pid is not None:
        os.killpg(pid, signal.SIGKILL)
        poll_until(lambda: processes.pid("checkout-api") is None, "checkout-api to die")


def _restart_checkout_api(shop: Shop, **env: str) -> None:
    """Kill checkout-api and start it again with extra settings."""
    from wayfinder.local.processes import ProcessSpec

    processes = shop.stack.processes
    _kill_checkout_api(shop)
    spec_env = {**shop.stack.service_env("checkout-api"), **env}
    processes.start(ProcessSpec("checkout-api", [sys.executable, "-m", "checkout_api", "serve"], spec_env))

    def ready() -> bool:
        try:
            return httpx.get(f"{shop.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    # As long as any other service start in these tests (conftest's extra_service): a cold Python
    # start with the OTel SDK, on a shared machine.
    poll_until(ready, "checkout-api to be ready again", 60)


@pytest.fixture()
def fast_sweeper(shop: Shop) -> Iterator[None]:
    _restart_checkout_api(shop, ABANDON_AFTER_S="2", SWEEP_INTERVAL_S="0.5")
    try:
        yield
    finally:
        shop.reset_faults()
        _restart_checkout_api(shop)  # back to the defaults for every other test


def test_a_checkout_killed_during_payment_gives_back_stock_and_the_hold(
    shop: Shop, fast_sweeper: None
) -> None:
    before = shop.stock("SKU-CHAIR")
    key = f"killed-{uuid.uuid4()}"
    shop.set_fault("authorize:ap-south", latency_ms=1500)  # long enough to die in the middle
    # One connection for the whole watch, opened before the checkout starts: a new engine per look
    # (shop.sql) can take longer on a busy machine than the 1.5 s the checkout spends at the provider.
    engine = sqlalchemy.create_engine(shop.stack.postgres.url)
    try:
        with engine.connect() as connection:

            def pending_payment() -> str | None:
                rows = connection.execute(
                    sqlalchemy.text(
                        "SELECT a.order_id FROM checkout.idempotency_keys k JOIN payment.authorizations a "
                        "ON a.order_id = k.order_id WHERE k.key = :k"
                    ),
                    {"k": key},
                ).all()
                connection.rollback()  # a fresh snapshot for the next look
                return rows[0][0] if rows else None

            in_flight = threading.Thread(
                target=lambda: _ignore_errors(
                    lambda: shop.checkout(key, region="ap-south", items=[{"sku": "SKU-CHAIR", "quantity": 2}])
                ),
                daemon=True,
            )
            in_flight.start()
            order_id = poll_until(pending_payment, "the checkout to reach payment")
            _kill_checkout_api(shop)
    finally:
        engine.dispose()
    # The process died between reserving and committing: the key is still in progress, no order.
    state = shop.sql("SELECT state FROM checkout.idempotency_keys WHERE key = :k", k=key)
    assert state == [("in_progress",)], "the checkout completed before checkout-api was killed"
    stock = shop.sql("SELECT stock FROM inventory.products WHERE sku = 'SKU-CHAIR'")
    assert stock == [(before - 2,)]
    _restart_checkout_api(shop, ABANDON_AFTER_S="2", SWEEP_INTERVAL_S="0.5")
    in_flight.join(timeout=30)

    def voided() -> bool:
        status = shop.sql("SELECT status FROM payment.authorizations WHERE order_id = :o", o=order_id)
        return status == [("voided",)]

    poll_until(voided, "the sweeper to void the orphaned authorization", timeout_s=30)
    assert shop.stock("SKU-CHAIR") == before
    assert shop.sql("SELECT count(*) FROM checkout.orders WHERE order_id = :o", o=order_id)[0][0] == 0
    retried = shop.checkout(key, region="ap-south", items=[{"sku": "SKU-CHAIR", "quantity": 2}])
    assert retried.status_code == 409 and retried.json()["error"] == "checkout_abandoned"

    def abandon_span() -> list[object] | None:
        return [
            s for s in shop.store.spans(name="checkout.abandon") if s.attributes.get("order.id") == order_id
        ] or None

    poll_until(abandon_span, "the checkout.abandon span")


def _ignore_errors(call: Callable[[], object]) -> None:
    # The server is killed under this request: its failure is the point, not an error.
    with contextlib.suppress(httpx.HTTPError):
        call()
