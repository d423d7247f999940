"""Finance's decisions on unidentified bank receipts (docs/DOMAIN.md "Wire auto-match"): the reseller a
receipt is assigned to and the wallet top-up that credits it (pending approval above the reseller's
threshold: the wallet's maker-checker, ``wallet_changes``).

Revision ID: c1b1469f8938
Revises: b7dfb3f23189
"""
import sqlalchemy as sa
from alembic import op

revision = "c1b1469f8938"
down_revision = "b7dfb3f23189"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bank_receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reseller_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("wallet_change_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_bank_receipts_reseller_id_resellers"), "resellers",
                                    ["reseller_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_bank_receipts_wallet_change_id_wallet_changes"),
                                    "wallet_changes", ["wallet_change_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_bank_receipts_wallet_change_id"), ["wallet_change_id"], unique=False)


def downgrade():
    with op.batch_alter_table("bank_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_receipts_wallet_change_id"))
        batch_op.drop_constraint(batch_op.f("fk_bank_receipts_wallet_change_id_wallet_changes"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_bank_receipts_reseller_id_resellers"), type_="foreignkey")
        batch_op.drop_column("wallet_change_id")
        batch_op.drop_column("reseller_id")
