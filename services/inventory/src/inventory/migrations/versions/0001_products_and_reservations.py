"""Products with stock (seeded) and reservations per order.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
SCHEMA = "inventory"

# Seed catalogue: enough stock for demos and load tests, one scarce item for out-of-stock drills.
PRODUCTS = [
    ("SKU-LAMP", "Desk lamp", 3900, 10_000),
    ("SKU-MUG", "Enamel mug", 1200, 10_000),
    ("SKU-BOOK", "Field notebook", 900, 10_000),
    ("SKU-CHAIR", "Task chair", 18900, 10_000),
    ("SKU-KEYB", "Mechanical keyboard", 12900, 10_000),
    ("SKU-RARE", "Limited print", 4900, 3),
]


def upgrade() -> None:
    products = op.create_table(
        "products",
        sa.Column("sku", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("price_cents", sa.Integer, nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
        schema=SCHEMA,
    )
    op.create_table(
        "reservations",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_table(
        "reservation_items",
        sa.Column(
            "order_id",
            sa.String(36),
            sa.ForeignKey(f"{SCHEMA}.reservations.order_id"),
            primary_key=True,
        ),
        sa.Column("sku", sa.String(32), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price_cents", sa.Integer, nullable=False),
        schema=SCHEMA,
    )
    op.bulk_insert(
        products,
        [dict(zip(("sku", "name", "price_cents", "stock"), row, strict=True)) for row in PRODUCTS],
    )


def downgrade() -> None:
    for table in ("reservation_items", "reservations", "products"):
        op.drop_table(table, schema=SCHEMA)
