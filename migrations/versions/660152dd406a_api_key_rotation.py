"""API keys rotate with an overlap, and each client shows when it was last used (issue 15):
the previous key's hash with the moment it stops working, and ``last_used_at``.

Revision ID: 660152dd406a
Revises: ef7e1e957b64
"""
import sqlalchemy as sa
from alembic import op

revision = "660152dd406a"
down_revision = "ef7e1e957b64"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("api_clients", sa.Column("previous_key_prefix", sa.String(length=16), nullable=True))
    op.add_column("api_clients", sa.Column("previous_key_hash", sa.String(length=64), nullable=True))
    op.add_column("api_clients", sa.Column("previous_key_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_clients", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_api_clients_previous_key_hash", "api_clients", ["previous_key_hash"], unique=True)


def downgrade():
    op.drop_index("ix_api_clients_previous_key_hash", table_name="api_clients")
    for column in ("last_used_at", "previous_key_expires_at", "previous_key_hash", "previous_key_prefix"):
        op.drop_column("api_clients", column)
