"""db.client.connections.usage read from the pool (wayfinder_common.pool_usage) exports what the
SQLAlchemy instrumentation's counting listeners export, on a real pooled engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.pool import NullPool, QueuePool
from wayfinder_common.pool_usage import NAME, PoolUsage


def _usage(data: MetricsData | None) -> dict[tuple[str, str, str], int | float]:
    """(scope, pool.name, state) -> value of every db.client.connections.usage point."""
    found: dict[tuple[str, str, str], int | float] = {}
    assert data is not None
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name != NAME:
                    continue
                assert metric.unit == "connections"
                assert not metric.data.is_monotonic  # type: ignore[union-attr]
                for point in metric.data.data_points:
                    attributes = point.attributes or {}
                    key = (scope_metrics.scope.name, str(attributes["pool.name"]), str(attributes["state"]))
                    found[key] = point.value  # type: ignore[union-attr]
    return found


@contextmanager
def _instrumented(engine: sqlalchemy.Engine) -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    """`engine` instrumented as the shop does it, with its own meter provider and reader."""
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = SQLAlchemyInstrumentor()
    instrumentor.instrument(
        engine=engine, tracer_provider=TracerProvider(), meter_provider=meter_provider, enable_commenter=False
    )
    try:
        yield meter_provider, reader
    finally:
        instrumentor.uninstrument()  # must still work with the pool listeners already removed
        engine.dispose()


def _readings(
    tmp_path: Path, name: str, read_from_pool: bool, pool_size: int
) -> list[dict[tuple[str, str, str], Any]]:
    """The metric after each step: two connections out, one back, then both back."""
    engine = sqlalchemy.create_engine(
        f"sqlite:///{tmp_path / name}", poolclass=QueuePool, pool_size=pool_size, max_overflow=1
    )
    with _instrumented(engine) as (meter_provider, reader):
        if read_from_pool:
            PoolUsage(meter_provider).observe(engine)
        readings = []
        first, second = engine.connect(), engine.connect()
        first.execute(sqlalchemy.text("SELECT 1"))
        readings.append(_usage(reader.get_metrics_data()))
        first.close()
        readings.append(_usage(reader.get_metrics_data()))
        second.close()
        readings.append(_usage(reader.get_metrics_data()))
    return readings


# pool_size 1: the second connection is an overflow one, closed (not kept idle) when it is back.
@pytest.mark.parametrize(("pool_size", "idle_at_end"), [(3, 2), (1, 1)])
def test_reading_the_pool_exports_what_counting_its_events_exported(
    tmp_path: Path, pool_size: int, idle_at_end: int
) -> None:
    counted = _readings(tmp_path, "shop.db", read_from_pool=False, pool_size=pool_size)
    read = _readings(tmp_path, "shop.db", read_from_pool=True, pool_size=pool_size)
    pool = "sqlite://:/" + str(tmp_path / "shop.db")
    # What the instrumentation does: two adds per checkout and per checkin.
    ours, theirs = "wayfinder_common.pool_usage", "opentelemetry.instrumentation.sqlalchemy"
    assert counted[0] == {(theirs, pool, "used"): 2, (theirs, pool, "idle"): 0}
    assert counted[1] == {(theirs, pool, "used"): 1, (theirs, pool, "idle"): 1}
    assert counted[2] == {(theirs, pool, "used"): 0, (theirs, pool, "idle"): idle_at_end}
    # The same points, and only ours: the counting listeners add nothing any more.
    assert read == [{(ours, *key[1:]): value for key, value in step.items()} for step in counted]


def test_the_pool_listeners_are_gone_and_the_statement_listeners_stay(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'shop.db'}", poolclass=QueuePool)
    with _instrumented(engine) as (meter_provider, _):
        PoolUsage(meter_provider).observe(engine)
        events = {
            identifier
            for target, identifier, _ in EngineTracer._remove_event_listener_params
            if target() is engine
        }
    assert events == {"before_cursor_execute", "after_cursor_execute", "handle_error"}


def test_a_connection_opened_under_suppressed_instrumentation_is_still_counted(tmp_path: Path) -> None:
    # Health pings and the relay's polls run under suppress_instrumentation: the counting
    # listeners skipped the connection's opening there, then counted its later checkout.
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'shop.db'}", poolclass=QueuePool)
    with _instrumented(engine) as (meter_provider, reader):
        with suppress_instrumentation(), engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
        with engine.connect():
            counted = _usage(reader.get_metrics_data())
        PoolUsage(meter_provider).observe(engine)
        with engine.connect():
            read = _usage(reader.get_metrics_data())
    pool = "sqlite://:/" + str(tmp_path / "shop.db")
    theirs, ours = "opentelemetry.instrumentation.sqlalchemy", "wayfinder_common.pool_usage"
    # The instrumentation's behaviour as released (0.66b1), the reason for reading the pool.
    assert counted == {(theirs, pool, "used"): 1, (theirs, pool, "idle"): -1}
    # The instrumentation's cumulative sums stay as they last were; ours reads the pool.
    assert {key: value for key, value in read.items() if key[0] == ours} == {
        (ours, pool, "used"): 1,
        (ours, pool, "idle"): 0,
    }


def test_a_pool_that_keeps_no_count_keeps_the_instrumentations_listeners(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'shop.db'}", poolclass=NullPool)
    with _instrumented(engine) as (meter_provider, reader):
        PoolUsage(meter_provider).observe(engine)
        with engine.connect():
            found = _usage(reader.get_metrics_data())
    assert {(scope, state) for scope, _, state in found} == {
        ("opentelemetry.instrumentation.sqlalchemy", "used"),
        ("opentelemetry.instrumentation.sqlalchemy", "idle"),
    }
