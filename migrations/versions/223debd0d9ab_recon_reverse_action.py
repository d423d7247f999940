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

_BEFORE = "('REQUERY','ACCEPT_CHANNEL','LINK_PAYMENT','WRITE_OFF','SYSTEM')"
_AFTER = "('REQUERY','ACCEPT_CHANNEL','LINK_PAYMENT','WRITE_OFF','REVERSE','SYSTEM')"


def _actions(values: str) -> None:
    with op.batch_alter_table("recon_exceptions", schema=None) as batch_op:
        for column in ("resolution_action", "pending_action"):
            batch_op.drop_constraint(op.f(f"ck_recon_exceptions_{column}"), type_="check")
            batch_op.create_check_constraint(op.f(f"ck_recon_exceptions_{column}"),
                                             f"{column} IS NULL OR {column} IN {values}")


def upgrade():
    _actions(_AFTER)


def downgrade():
    _actions(_BEFORE)
