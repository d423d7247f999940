"""A channel's maintenance window, set on /admin/channels: inside it the channel is not offered at
checkout and the checkout service refuses it (docs/DOMAIN.md §5). The one-time password links an
admin issues on /admin/users (``password_resets``: the token's SHA-256, expiry, used once).

Revision ID: 4e5f6a7b8c9d
Revises: 3d4e5f6a7b8c
"""
import sqlalchemy as sa
from alembic import op

revision = "4e5f6a7b8c9d"
down_revision = "3d4e5f6a7b8c"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("channels", sa.Column("maintenance_start", sa.DateTime(timezone=True), nullable=True))
    op.add_column("channels", sa.Column("maintenance_end", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_password_resets_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index(op.f("ix_password_resets_user_id"), "password_resets", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_password_resets_user_id"), table_name="password_resets")
    op.drop_table("password_resets")
    op.drop_column("channels", "maintenance_end")
    op.drop_column("channels", "maintenance_start")
