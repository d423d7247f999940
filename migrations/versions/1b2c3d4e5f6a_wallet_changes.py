"""Wallet top-ups and adjustments asked on the finance desk, some waiting for a second finance user
(docs/DOMAIN.md §5).

Revision ID: 1b2c3d4e5f6a
Revises: 0a1b2c3d4e5f
"""
from alembic import op
import sqlalchemy as sa

revision = '1b2c3d4e5f6a'
down_revision = '0a1b2c3d4e5f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("wallet_changes",
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('bank_serial', sa.String(length=64), nullable=True),
    sa.Column('memo', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.String(length=120), nullable=False),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.String(length=500), nullable=True),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("amount <> 0", name=op.f('ck_wallet_changes_amount_nonzero')),
    sa.CheckConstraint("kind <> 'TOPUP' OR amount > 0", name=op.f('ck_wallet_changes_topup_shape')),
    sa.CheckConstraint("kind IN ('TOPUP','ADJUST')", name=op.f('ck_wallet_changes_kind')),
    sa.CheckConstraint("status IN ('PENDING','APPROVED','REJECTED')", name=op.f('ck_wallet_changes_status')),
    sa.CheckConstraint("status <> 'APPROVED' OR entry_id IS NOT NULL", name=op.f('ck_wallet_changes_approved_has_entry')),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_wallet_changes_reseller_id_resellers')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['users.id'], name=op.f('fk_wallet_changes_requested_by_user_id_users')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_wallet_changes_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['entry_id'], ['wallet_entries.id'], name=op.f('fk_wallet_changes_entry_id_wallet_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_changes')),
    )
    with op.batch_alter_table('wallet_changes', schema=None) as batch_op:
        batch_op.create_index('uq_wallet_changes_reseller_serial', ['reseller_id', 'bank_serial'], unique=True,
                              postgresql_where=sa.text("bank_serial IS NOT NULL AND status <> 'REJECTED'"),
                              sqlite_where=sa.text("bank_serial IS NOT NULL AND status <> 'REJECTED'"))
        batch_op.create_index('ix_wallet_changes_status_created', ['status', 'created_at'], unique=False)


def downgrade():
    op.drop_table('wallet_changes')
