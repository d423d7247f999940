"""How far a reconciliation run has got (services/reconciliation/progress.py): ``recon_runs.progress``,
the stage and the counts so far, which /finance/reconciliation shows live while a run works.

Revision ID: a07a3cf69902
Revises: a126e9b487da
"""
import sqlalchemy as sa
from alembic import op

revision = "a07a3cf69902"
down_revision = "a126e9b487da"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("recon_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("recon_runs", schema=None) as batch_op:
        batch_op.drop_column("progress")
