"""A channel's maintenance window, set on /admin/channels: inside it the channel is not offered at
checkout and the checkout service refuses it (docs/DOMAIN.md §5).

Revision ID: 2c3d4e5f6a7b
Revises: 1b2c3d4e5f6a
"""
import sqlalchemy as sa
from alembic import op

revision = "2c3d4e5f6a7b"
down_revision = "1b2c3d4e5f6a"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("channels", sa.Column("maintenance_start", sa.DateTime(timezone=True), nullable=True))
    op.add_column("channels", sa.Column("maintenance_end", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("channels", "maintenance_end")
    op.drop_column("channels", "maintenance_start")
