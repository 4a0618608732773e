"""Per-order attempt budget and re-drives: a row is `pending` while its attempts run.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
SCHEMA = "invoice"


def upgrade() -> None:
    # Gateway calls made for this order in its current drive (redeliveries included).
    op.add_column(
        "invoices", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"), schema=SCHEMA
    )
    op.add_column(
        "invoices", sa.Column("drive", sa.Integer, nullable=False, server_default="0"), schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_column("invoices", "drive", schema=SCHEMA)
    op.drop_column("invoices", "attempts", schema=SCHEMA)
