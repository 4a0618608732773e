"""Alembic environment for invoice-worker's schema."""

from wayfinder_common.migrations import run_env

run_env()
