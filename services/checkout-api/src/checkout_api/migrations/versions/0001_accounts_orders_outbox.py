"""Accounts (seeded), orders, idempotency keys and the outbox.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
SCHEMA = "checkout"

TIERS = ("free", "pro", "enterprise")
# 30 demo accounts, acct-0001..acct-0030, tiers cycling so every tier has traffic.
ACCOUNTS = [(f"acct-{n:04d}", TIERS[n % 3]) for n in range(1, 31)]


def upgrade() -> None:
    accounts = op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("tier", sa.String(16), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), sa.ForeignKey(f"{SCHEMA}.accounts.account_id")),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total_cents", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("authorization_id", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_table(
        "order_items",
        sa.Column("order_id", sa.String(36), sa.ForeignKey(f"{SCHEMA}.orders.order_id"), primary_key=True),
        sa.Column("sku", sa.String(32), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price_cents", sa.Integer, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", JSONB),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_table(
        "outbox",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("trace_context", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(200)),
        schema=SCHEMA,
    )
    # The relay's poll reads only unpublished rows, oldest first.
    op.create_index(
        "outbox_unpublished",
        "outbox",
        ["created_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.bulk_insert(accounts, [{"account_id": a, "tier": t} for a, t in ACCOUNTS])


def downgrade() -> None:
    for table in ("outbox", "idempotency_keys", "order_items", "orders", "accounts"):
        op.drop_table(table, schema=SCHEMA)
