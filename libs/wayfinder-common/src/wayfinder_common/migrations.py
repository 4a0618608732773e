"""Alembic, run programmatically: each service owns one Postgres schema and its version table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text


def upgrade(database_url: str, migrations_dir: Path, schema: str) -> None:
    """Create the service's schema if needed and apply its migrations up to head."""
    # Imported here, not at the top: every service imports this module for its `migrate`
    # command, and alembic (with mako) would otherwise stay resident in each serving process.
    from alembic import command
    from alembic.config import Config

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["schema"] = schema
    command.upgrade(config, "head")


def run_env() -> None:
    """The body of every service's migrations/env.py (online mode only: we never emit SQL files).

    alembic's `context` proxy is only usable while alembic runs an env.py, hence the late import.
    """
    from alembic import context

    config = context.config
    schema = config.attributes["schema"]
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("run migrations through wayfinder_common.migrations.upgrade()")
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, version_table_schema=schema, include_schemas=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
