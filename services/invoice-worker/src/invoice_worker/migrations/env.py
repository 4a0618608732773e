"""Alembic environment for invoice-worker's schema."""

from alembic import context
from wayfinder_common.migrations import run_env

run_env(context)
