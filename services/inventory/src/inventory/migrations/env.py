"""Alembic environment for inventory's schema."""

from wayfinder_common.migrations import run_env

run_env()
