"""Database spans are named "{operation} {table}" (wayfinder_common.dbspans), on a real engine."""

from __future__ import annotations

import pytest
import sqlalchemy
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wayfinder_common.dbspans import name_statement_spans, operation_and_collection
from wayfinder_common.telemetry import drop_connect_spans


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (
            "SELECT inventory.products.sku FROM inventory.products WHERE sku = %(a)s FOR UPDATE",
            ("SELECT", "inventory.products"),
        ),
        ("INSERT INTO checkout.orders (order_id) VALUES (%(a)s)", ("INSERT", "checkout.orders")),
        ("UPDATE inventory.products SET stock=%(s)s WHERE sku = %(k)s", ("UPDATE", "inventory.products")),
        ("DELETE FROM outbox.events WHERE id = 1", ("DELETE", "outbox.events")),
        ('select count(*) from "checkout"."orders" o', ("SELECT", "checkout.orders")),
        ("  select\n a from b", ("SELECT", "b")),
        # No table to name: SQLAlchemy's own name stays.
        ("SELECT 1", None),
        ("SELECT now()", None),
        ("BEGIN", None),
        ("WITH x AS (SELECT 1) SELECT * FROM x", None),
    ],
)
def test_operation_and_collection(statement: str, named: tuple[str, str] | None) -> None:
    assert operation_and_collection(statement) == named


def _instrumented_sqlite() -> tuple[InMemorySpanExporter, sqlalchemy.Engine, SQLAlchemyInstrumentor]:
    """An in-memory SQLite engine, instrumented as the shop instruments its own."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = sqlalchemy.create_engine("sqlite://")
    instrumentor = SQLAlchemyInstrumentor()
    instrumentor.instrument(engine=engine, tracer_provider=provider, enable_commenter=False)
    return exporter, engine, instrumentor


def test_a_real_engines_statement_spans_say_which_table() -> None:
    exporter, engine, instrumentor = _instrumented_sqlite()
    try:
        name_statement_spans(engine)
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("CREATE TABLE products (sku TEXT, stock INT)"))
            connection.execute(sqlalchemy.text("INSERT INTO products VALUES ('SKU-LAMP', 3)"))
            connection.execute(sqlalchemy.text("SELECT stock FROM products WHERE sku = 'SKU-LAMP'"))
    finally:
        instrumentor.uninstrument()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert {"INSERT products", "SELECT products"} <= set(spans), sorted(spans)
    selected = spans["SELECT products"].attributes or {}
    assert selected["db.operation.name"] == "SELECT" and selected["db.collection.name"] == "products"
    assert not any(name.startswith("CREATE products") for name in spans)  # DDL keeps its own name


def test_a_pool_checkout_makes_no_connect_span_but_statements_keep_theirs() -> None:
    exporter, engine, instrumentor = _instrumented_sqlite()
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
        assert "connect" in {s.name for s in exporter.get_finished_spans()}  # what the instrumentation does
        exporter.clear()
        drop_connect_spans()
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    finally:
        instrumentor.uninstrument()
    names = [s.name for s in exporter.get_finished_spans()]
    assert "connect" not in names and len(names) == 1, names
