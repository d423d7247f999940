"""The reconciliation reversal (docs/DOMAIN.md §8 "Reversal"): REVERSE among the actions an exception is
resolved by or waits with.

Revision ID: 223debd0d9ab
Revises: 168def881837
"""
from alembic import op

revision = "223debd0d9ab"
down_revision = "168def881837"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("recon_exceptions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_recon_exceptions_resolution_action"), type_="check")
        batch_op.drop_constraint(op.f("ck_recon_exceptions_pending_action"), type_="check")
        batch_op.create_check_constraint(op.f("ck_recon_exceptions_resolution_action"),
                                         "resolution_action IS NULL OR resolution_action IN "
                                         "('REQUERY','ACCEPT_CHANNEL','LINK_PAYMENT','WRITE_OFF','REVERSE','SYSTEM')")
        batch_op.create_check_constraint(op.f("ck_recon_exceptions_pending_action"),
                                         "pending_action IS NULL OR pending_action IN "
                                         "('REQUERY','ACCEPT_CHANNEL','LINK_PAYMENT','WRITE_OFF','REVERSE','SYSTEM')")


def downgrade():
    with op.batch_alter_table("recon_exceptions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_recon_exceptions_resolution_action"), type_="check")
        batch_op.drop_constraint(op.f("ck_recon_exceptions_pending_action"), type_="check")
        batch_op.create_check_constraint(op.f("ck_recon_exceptions_resolution_action"),
                                         "resolution_action IS NULL OR resolution_action IN "
                                         "('REQUERY','ACCEPT_CHANNEL','LINK_PAYMENT','WRITE_OFF','SYSTEM')")
        batch_op.create_check_constraint(op.f("ck_recon_exceptions_pending_action"),
                                         "pending_action IS NULL OR pending_action IN "
                                         "('REQUERY','ACCEPT_CHANNEL','LINK_PAYMENT','WRITE_OFF','SYSTEM')")
