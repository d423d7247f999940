"""The finance desk's figures without scanning every transaction (bench/finance_desk.py, issue 14):

* ``money_flow_days``: received and refunded per Shanghai day, channel and payment type, kept up to
  date by settlement (app/services/dashboards/money_flows.py), backfilled here from ``transactions``;
* indexes matching /finance/transactions' filters: kind and status each with the list's order
  (``created_at, id``), the status one carrying the amount and the keys of the in-flight sum on
  PostgreSQL, and the amount (a range on the size is two ranges of the signed amount).

Revision ID: 28bfb1d0f3b5
Revises: 075bcd59d4f2
"""
import sqlalchemy as sa
from alembic import op

revision = "28bfb1d0f3b5"
down_revision = "075bcd59d4f2"
branch_labels = None
depends_on = None

BACKFILL = """
INSERT INTO money_flow_days (day, channel_code, payment_type, payments, received, refunds, refunded)
SELECT {day}, coalesce(t.channel_code, ''), o.payment_type,
       sum(CASE WHEN t.transaction_type = 'PAYMENT' THEN 1 ELSE 0 END),
       sum(CASE WHEN t.transaction_type = 'PAYMENT' THEN t.amount ELSE 0 END),
       sum(CASE WHEN t.transaction_type = 'PAYMENT' THEN 0 ELSE 1 END),
       sum(CASE WHEN t.transaction_type = 'PAYMENT' THEN 0 ELSE -t.amount END)
FROM transactions t JOIN payment_orders o ON o.id = t.payment_order_id
WHERE t.status = 'SUCCESS'
GROUP BY 1, 2, 3
"""
# The Shanghai day of coalesce(completed_at, created_at): PostgreSQL keeps timestamptz; SQLite keeps
# the UTC time as text, and Shanghai is UTC+8 all year.
DAY = {"postgresql": "(coalesce(t.completed_at, t.created_at) AT TIME ZONE 'Asia/Shanghai')::date",
       "sqlite": "date(coalesce(t.completed_at, t.created_at), '+8 hours')"}


def upgrade():
    op.create_table(
        "money_flow_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel_code", sa.String(length=32), nullable=False),
        sa.Column("payment_type", sa.String(length=32), nullable=False),
        sa.Column("payments", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel_code", "payment_type", name=op.f("pk_money_flow_days")),
    )
    op.execute(BACKFILL.format(day=DAY[op.get_bind().dialect.name]))
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index("ix_transactions_type_created", ["transaction_type", "created_at", "id"], unique=False)
        batch_op.create_index("ix_transactions_status_created", ["status", "created_at", "id"], unique=False,
                              postgresql_include=["amount", "transaction_type", "channel_code"])
        batch_op.create_index("ix_transactions_amount", ["amount"], unique=False)


def downgrade():
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_amount")
        batch_op.drop_index("ix_transactions_status_created")
        batch_op.drop_index("ix_transactions_type_created")
    op.drop_table("money_flow_days")
