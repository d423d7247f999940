"""Webhook endpoints managed through the API (docs/API.md §10): a description, and deletion that
keeps the delivery log (``deleted_at``: a deleted endpoint is hidden and never sent to again).
The per-endpoint ``allow_private_network`` switch goes: one deployment setting,
``WEBHOOK_ALLOWED_HOSTS``, now says which hosts may be private (docs/SECURITY.md).

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
"""
import sqlalchemy as sa
from alembic import op

revision = "b8c9d0e1f2a3"
down_revision = "a7b8c9d0e1f2"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("webhook_endpoints", sa.Column("description", sa.String(length=500), nullable=False,
                                                 server_default=""))
    op.add_column("webhook_endpoints", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_column("webhook_endpoints", "allow_private_network")


def downgrade():
    op.add_column("webhook_endpoints", sa.Column("allow_private_network", sa.Boolean(), nullable=False,
                                                 server_default=sa.false()))
    op.drop_column("webhook_endpoints", "deleted_at")
    op.drop_column("webhook_endpoints", "description")
