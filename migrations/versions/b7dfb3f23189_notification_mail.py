"""E-mail of notifications (docs/ARCHITECTURE.md "Mail"): each notification's mail state, job,
attempts and last error; the per-person opt-outs per kind.

Revision ID: b7dfb3f23189
Revises: 42fbf12bbb8b
"""
import sqlalchemy as sa
from alembic import op

revision = "b7dfb3f23189"
down_revision = "42fbf12bbb8b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mail_state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("mail_job", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("mail_queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("mail_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("mail_error", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("mail_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_notifications_mail_state"), "mail_state IS NULL OR mail_state IN ('PENDING','SENT','FAILED','SKIPPED')")
        batch_op.create_index("ix_notifications_mail_state", ["mail_state", "mail_queued_at"])
    op.create_table(
        "mail_opt_outs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_mail_opt_outs_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_mail_opt_outs")),
    )


def downgrade():
    op.drop_table("mail_opt_outs")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_mail_state")
        batch_op.drop_constraint(op.f("ck_notifications_mail_state"), type_="check")
        batch_op.drop_column("mail_sent_at")
        batch_op.drop_column("mail_error")
        batch_op.drop_column("mail_attempts")
        batch_op.drop_column("mail_queued_at")
        batch_op.drop_column("mail_job")
        batch_op.drop_column("mail_state")
