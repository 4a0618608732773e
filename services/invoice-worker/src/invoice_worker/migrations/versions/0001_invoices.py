"""One invoice per order.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
SCHEMA = "invoice"


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("invoice_id", sa.String(48), nullable=False, unique=True),
        sa.Column("invoice_number", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_reason", sa.String(32)),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("amount_cents", sa.Integer, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("invoices", schema=SCHEMA)
