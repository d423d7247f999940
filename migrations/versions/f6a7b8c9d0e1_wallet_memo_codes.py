"""Wallet entries carry the code and parameters of a memo the portal wrote, so that the screens show
it in the reader's language (app/services/ledgers/wallet_memos.py). Plain ADD COLUMN (no table
rebuild), so the append-only triggers of wallet_entries stay as they are.

Revision ID: f6a7b8c9d0e1
Revises: e5f6a7b8c9d0
"""
import sqlalchemy as sa
from alembic import op

revision = "f6a7b8c9d0e1"
down_revision = "e5f6a7b8c9d0"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("wallet_entries", sa.Column("memo_code", sa.String(length=40), nullable=True))
    op.add_column("wallet_entries", sa.Column("memo_params", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("wallet_entries", schema=None) as batch_op:
        batch_op.drop_column("memo_params")
        batch_op.drop_column("memo_code")
