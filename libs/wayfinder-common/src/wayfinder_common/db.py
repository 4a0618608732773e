"""Database plumbing: one engine per process, sessions, and "Postgres is down" as a domain error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from wayfinder_common.errors import DependencyUnavailable
from wayfinder_common.faulthooks import FLEET, StatementDelayParams
from wayfinder_common.faultstate import fault_reader
from wayfinder_common.telemetry import instrument_engine


class Base(DeclarativeBase):
    """Declarative base; each service's models live in its own Postgres schema."""


def make_engine(database_url: str) -> Engine:
    engine = create_engine(
        database_url,
        # pre_ping turns a connection killed by a Postgres restart into a fresh one, which is
        # what "recovery without a restart" needs.
        pool_pre_ping=True,
        # Statement errors must not quote bound values: an INSERT's parameters hold the
        # customer's email, and error text ends up in span events and exported logs.
        hide_parameters=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=5,
        # Every outbound call has a timeout, the database included.
        connect_args={"connect_timeout": 3, "options": "-c statement_timeout=10000"},
    )
    instrument_engine(engine)
    # Registered after the instrumentation's own listener, so the delay lands inside the
    # statement's span: a slow database, as the trainee will see it.
    event.listen(engine, "before_cursor_execute", _statement_delay)
    return engine


def _statement_delay(*_: Any) -> None:
    """The generic "database slowdown" fault hook (db.statement_delay)."""
    delay = fault_reader().params("db.statement_delay", FLEET)
    if isinstance(delay, StatementDelayParams) and delay.delay_ms:
        time.sleep(delay.delay_ms / 1000)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_database_unavailable(exc: BaseException) -> bool:
    """True for errors that mean "cannot reach Postgres" (or no free connection), not "the
    query was wrong"."""
    if isinstance(exc, OperationalError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@contextmanager
def database_errors() -> Iterator[None]:
    """Translate connection failures into a 503 `database_unavailable`."""
    try:
        yield
    except (DBAPIError, PoolTimeout) as exc:
        if is_database_unavailable(exc):
            raise DependencyUnavailable("the database is unavailable", code="database_unavailable") from exc
        raise


def ping(engine: Engine) -> None:
    # Readiness probes are excluded from HTTP tracing; without suppression their query would
    # still appear as a root span every few seconds.
    with suppress_instrumentation(), database_errors(), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
