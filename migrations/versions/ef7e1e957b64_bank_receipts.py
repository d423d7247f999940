"""Bank receipts: the credit lines of WIRE bank statements, one per bank reference, matched to a wire
payment or kept as unidentified receipts (docs/DOMAIN.md "Wire auto-match").

Revision ID: ef7e1e957b64
Revises: d1414102346f
"""
import sqlalchemy as sa
from alembic import op

revision = "ef7e1e957b64"
down_revision = "d1414102346f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bank_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("our_account", sa.String(length=40), nullable=False),
        sa.Column("bank_reference", sa.String(length=64), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer_name", sa.String(length=200), nullable=True),
        sa.Column("payer_account", sa.String(length=64), nullable=True),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=True),
        sa.Column("channel_payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("suggestions", sa.JSON(), nullable=True),
        sa.Column("received_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.String(length=500), nullable=True),
        sa.CheckConstraint("state IN ('MATCHED','OPEN','ASSIGNED','RETURNED')", name=op.f("ck_bank_receipts_state")),
        sa.CheckConstraint("reason IS NULL OR reason IN ('NO_REFERENCE','UNKNOWN_REFERENCE','ALREADY_FINAL',"
                           "'SHORTFALL')", name=op.f("ck_bank_receipts_reason")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_bank_receipts_amount_positive")),
        sa.ForeignKeyConstraint(["channel_payment_id"], ["channel_payments.id"],
                                name=op.f("fk_bank_receipts_channel_payment_id_channel_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_receipts")),
        sa.UniqueConstraint("our_account", "bank_reference", name="uq_bank_receipts_line"),
    )
    op.create_index("ix_bank_receipts_state", "bank_receipts", ["state", "value_date"])
    op.create_index(op.f("ix_bank_receipts_channel_payment_id"), "bank_receipts", ["channel_payment_id"])


def downgrade():
    op.drop_index(op.f("ix_bank_receipts_channel_payment_id"), table_name="bank_receipts")
    op.drop_index("ix_bank_receipts_state", table_name="bank_receipts")
    op.drop_table("bank_receipts")
