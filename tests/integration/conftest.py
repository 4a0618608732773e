"""Sessions on the real, migrated Postgres that every integration test shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.db import make_engine, make_session_factory


@pytest.fixture()
def sessions(migrated_database: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on its own engine, disposed after the test."""
    engine = make_engine(migrated_database)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture()
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session
