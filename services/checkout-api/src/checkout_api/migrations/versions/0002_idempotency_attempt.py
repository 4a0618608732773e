"""Fencing token on idempotency keys: which attempt currently holds the key.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
SCHEMA = "checkout"


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("attempt_id", sa.String(36)), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("idempotency_keys", "attempt_id", schema=SCHEMA)
