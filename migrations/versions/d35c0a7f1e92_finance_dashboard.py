"""The finance dashboard and the API's new list filters (docs/ARCHITECTURE.md "The finance desk"):

* ``channel_payments.result_delay_ms``: from the channel's completion time to when the portal applied
  the result, set by ``settlement/channel_result.apply`` (the dashboard's callback delay);
* ``ix_channel_payments_completed`` (success rate and delay of a period),
  ``ix_payment_orders_status_deadline`` (overdue
  orders), ``ix_credit_records_due`` (repayment timeliness), ``ix_refunds_created`` (the refund list).

Revision ID: d35c0a7f1e92
Revises: 1b2c3d4e5f6a
"""
from alembic import op
import sqlalchemy as sa

revision = "d35c0a7f1e92"
down_revision = "1b2c3d4e5f6a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("channel_payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("result_delay_ms", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_channel_payments_completed", ["completed_at"], unique=False)
    op.create_index("ix_payment_orders_status_deadline", "payment_orders", ["payment_status", "payment_deadline"],
                    unique=False)
    op.create_index("ix_credit_records_due", "credit_records", ["due_date"], unique=False)
    op.create_index("ix_refunds_created", "refunds", ["created_at"], unique=False)


def downgrade():
    op.drop_index("ix_refunds_created", table_name="refunds")
    op.drop_index("ix_credit_records_due", table_name="credit_records")
    op.drop_index("ix_payment_orders_status_deadline", table_name="payment_orders")
    with op.batch_alter_table("channel_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_payments_completed")
        batch_op.drop_column("result_delay_ms")
