"""/finance/transactions is ordered by (created_at, id), newest first: an index on that order, so that a
page is a backward index scan that stops after the page instead of a sort of every matching
transaction (bench/finance_desk.py: ~330 ms for the unfiltered first page at 500,000 transactions,
0.3 ms with the index).

Revision ID: 075bcd59d4f2
Revises: c1b1469f8938
"""
from alembic import op

revision = "075bcd59d4f2"
down_revision = "c1b1469f8938"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index("ix_transactions_created", ["created_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_created")
