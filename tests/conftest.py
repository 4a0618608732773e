"""Session-wide real servers: a throwaway Postgres and Redis from the machine's binaries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import free_port


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from wayfinder.local.servers import PostgresServer

    server = PostgresServer(tmp_path_factory.mktemp("pg") / "data", free_port())
    server.start()
    yield server
    server.stop(mode="immediate")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from wayfinder.local.servers import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_database(postgres: object) -> str:
    """The database URL with every service's migrations applied."""
    from checkout_api.main import MIGRATIONS as CHECKOUT
    from inventory.main import MIGRATIONS as INVENTORY
    from invoice_worker.main import MIGRATIONS as INVOICE
    from payment.main import MIGRATIONS as PAYMENT
    from wayfinder_common import migrations

    url: str = postgres.url  # type: ignore[attr-defined]
    for folder, schema in (
        (CHECKOUT, "checkout"),
        (INVENTORY, "inventory"),
        (PAYMENT, "payment"),
        (INVOICE, "invoice"),
    ):
        migrations.upgrade(url, Path(folder), schema)
    return url
