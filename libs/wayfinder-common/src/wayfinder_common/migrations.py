"""Alembic, run programmatically: each service owns one Postgres schema and its version table."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text


def upgrade(database_url: str, migrations_dir: Path, schema: str) -> None:
    """Create the service's schema if needed and apply its migrations up to head."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["schema"] = schema
    command.upgrade(config, "head")


def run_env(context: object) -> None:
    """The body of every service's migrations/env.py (online mode only: we never emit SQL files)."""
    from alembic import context as alembic_context

    ctx = context if context is not None else alembic_context
    config = ctx.config  # type: ignore[attr-defined]
    schema = config.attributes["schema"]
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        ctx.configure(  # type: ignore[attr-defined]
            connection=connection, version_table_schema=schema, include_schemas=True
        )
        with ctx.begin_transaction():  # type: ignore[attr-defined]
            ctx.run_migrations()  # type: ignore[attr-defined]
    engine.dispose()
