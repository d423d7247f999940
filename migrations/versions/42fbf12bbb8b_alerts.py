"""Alerts as rows (docs/DOMAIN.md "Alerts"): kind, subject, state OPEN → ACKNOWLEDGED → RESOLVED,
repeats counted on the one unresolved row per kind and subject.

Revision ID: 42fbf12bbb8b
Revises: 660152dd406a
"""
import sqlalchemy as sa
from alembic import op

revision = "42fbf12bbb8b"
down_revision = "660152dd406a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=120), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledge_note", sa.String(length=500), nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.String(length=500), nullable=True),
        sa.CheckConstraint("state IN ('OPEN','ACKNOWLEDGED','RESOLVED')", name=op.f("ck_alerts_state")),
        sa.CheckConstraint("severity IN ('warning','critical')", name=op.f("ck_alerts_severity")),
        sa.CheckConstraint("count >= 1", name=op.f("ck_alerts_count_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("uq_alerts_unresolved", "alerts", ["kind", "subject"], unique=True,
                    postgresql_where=sa.text("state <> 'RESOLVED'"), sqlite_where=sa.text("state <> 'RESOLVED'"))
    op.create_index("ix_alerts_state_last_seen", "alerts", ["state", "last_seen_at"])


def downgrade():
    op.drop_index("ix_alerts_state_last_seen", table_name="alerts")
    op.drop_index("uq_alerts_unresolved", table_name="alerts")
    op.drop_table("alerts")
