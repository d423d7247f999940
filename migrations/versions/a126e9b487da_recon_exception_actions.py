"""Reconciliation exceptions resolved by an action that fits their class (docs/DOMAIN.md §8 "Resolving a
difference"): which action resolved one, and the maker-checker of an action waiting for a second
finance user (what it is, who asked, the payment to link, the wallet top-up it waits with).

Revision ID: a126e9b487da
Revises: 8a257a95a3bc
"""
import sqlalchemy as sa
from alembic import op

revision = "a126e9b487da"
down_revision = "8a257a95a3bc"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("recon_exceptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolution_action", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("pending_action", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("pending_payment_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("requested_by_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("requested_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("requested_note", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("wallet_change_id", _ID, nullable=True))
        batch_op.create_check_constraint(op.f("ck_recon_exceptions_resolution_action"),
                                         "resolution_action IS NULL OR resolution_action IN "
                                         "('REQUERY','ACCEPT_CHANNEL','LINK_PAYMENT','WRITE_OFF','SYSTEM')")
        batch_op.create_check_constraint(op.f("ck_recon_exceptions_pending_action"),
                                         "pending_action IS NULL OR pending_action IN "
                                         "('REQUERY','ACCEPT_CHANNEL','LINK_PAYMENT','WRITE_OFF','SYSTEM')")
        batch_op.create_foreign_key(batch_op.f("fk_recon_exceptions_pending_payment_id_channel_payments"),
                                    "channel_payments", ["pending_payment_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_recon_exceptions_wallet_change_id_wallet_changes"),
                                    "wallet_changes", ["wallet_change_id"], ["id"])


def downgrade():
    with op.batch_alter_table("recon_exceptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_recon_exceptions_wallet_change_id_wallet_changes"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_recon_exceptions_pending_payment_id_channel_payments"),
                                 type_="foreignkey")
        batch_op.drop_constraint(op.f("ck_recon_exceptions_pending_action"), type_="check")
        batch_op.drop_constraint(op.f("ck_recon_exceptions_resolution_action"), type_="check")
        for column in ("wallet_change_id", "requested_note", "requested_at", "requested_by", "requested_by_user_id",
                       "pending_payment_id", "pending_action", "resolution_action"):
            batch_op.drop_column(column)
