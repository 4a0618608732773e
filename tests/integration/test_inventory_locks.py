"""inventory on real Postgres: row locks mean concurrent checkouts can never oversell."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from inventory import service
from inventory.schemas import Item
from sqlalchemy import text
from wayfinder_common.db import make_engine, make_session_factory
from wayfinder_common.errors import Conflict


@pytest.fixture()
def sessions(migrated_database: str):
    engine = make_engine(migrated_database)
    with engine.begin() as connection:
        connection.execute(text("UPDATE inventory.products SET stock = 5 WHERE sku = 'SKU-RARE'"))
    yield make_session_factory(engine)
    engine.dispose()


def test_parallel_reservations_never_oversell(sessions) -> None:
    def attempt(_: int) -> bool:
        with sessions() as session:
            try:
                service.reserve(session, str(uuid.uuid4()), [Item(sku="SKU-RARE", quantity=1)])
            except Conflict:
                return False
            return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(12)))
    assert results.count(True) == 5
    with sessions() as session:
        assert (
            session.execute(text("SELECT stock FROM inventory.products WHERE sku='SKU-RARE'")).scalar() == 0
        )


def test_reserve_is_idempotent_and_release_gives_stock_back_once(sessions) -> None:
    order_id = str(uuid.uuid4())
    items = [Item(sku="SKU-RARE", quantity=2)]
    with sessions() as session:
        first = service.reserve(session, order_id, items)
        again = service.reserve(session, order_id, items)
        assert first == again
        assert service.release(session, order_id).status == "released"
        service.release(session, order_id)
        stock = session.execute(text("SELECT stock FROM inventory.products WHERE sku='SKU-RARE'")).scalar()
    assert stock == 5
