"""Alembic environment for checkout-api's schema."""

from wayfinder_common.migrations import run_env

run_env()
