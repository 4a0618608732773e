"""Outbox delivery state: finished when the invoice exists, republished, dead-lettered, re-driven.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
SCHEMA = "checkout"


def upgrade() -> None:
    op.add_column("outbox", sa.Column("completed_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.add_column(
        "outbox", sa.Column("republications", sa.Integer, nullable=False, server_default="0"), schema=SCHEMA
    )
    op.add_column("outbox", sa.Column("dead_lettered_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.add_column("outbox", sa.Column("redriven_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    # The relay's reconciliation and the missing-invoice gauge read only unfinished events.
    op.create_index(
        "outbox_unfinished",
        "outbox",
        ["published_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("completed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("outbox_unfinished", "outbox", schema=SCHEMA)
    for name in ("redriven_at", "dead_lettered_at", "republications", "completed_at"):
        op.drop_column("outbox", name, schema=SCHEMA)
