"""Indexes for the reseller's payment-order list (bench/order_list.py: under 100 ms for a reseller with
20,000 orders among 1,000,000).

* ``ix_payment_orders_reseller_list`` on ``(reseller_id, created_at)`` replaces
  ``ix_payment_orders_reseller_created``; on PostgreSQL it also carries (INCLUDE) every column the
  list filters, sorts and sums, so that the totals and the choice of a page are index-only scans of
  the reseller's entries instead of one heap read per order (SQLite has no INCLUDE: there it is the
  same index as before under a new name).
* ``ix_transactions_reseller_channel_order`` on ``(reseller_id, channel_code, payment_order_id)``
  replaces ``ix_transactions_reseller_id`` (its first column serves the same lookups): the filter
  "paid through channel X" reads the reseller's transactions of X only.

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
"""
from alembic import op

revision = "e5f6a7b8c9d0"
down_revision = "d4e5f6a7b8c9"
branch_labels = None
depends_on = None

LIST_INCLUDE = ["id", "payment_status", "payment_type", "payment_amount", "paid_amount", "reserved_amount",
                "payment_deadline", "order_id"]


def upgrade():
    with op.batch_alter_table("payment_orders", schema=None) as batch_op:
        batch_op.create_index("ix_payment_orders_reseller_list", ["reseller_id", "created_at"], unique=False,
                              postgresql_include=LIST_INCLUDE)
        batch_op.drop_index("ix_payment_orders_reseller_created")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index("ix_transactions_reseller_channel_order",
                              ["reseller_id", "channel_code", "payment_order_id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_transactions_reseller_id"))


def downgrade():
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transactions_reseller_id"), ["reseller_id"], unique=False)
        batch_op.drop_index("ix_transactions_reseller_channel_order")
    with op.batch_alter_table("payment_orders", schema=None) as batch_op:
        batch_op.create_index("ix_payment_orders_reseller_created", ["reseller_id", "created_at"], unique=False)
        batch_op.drop_index("ix_payment_orders_reseller_list")
