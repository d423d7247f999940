"""Disbursement batches (批量付款, docs/DOMAIN.md §9): a batch uploaded by finance and its rows, each
paid as one payout once a second finance user approves.

Revision ID: 2c3d4e5f6a7b
Revises: d35c0a7f1e92
"""
from alembic import op
import sqlalchemy as sa

revision = '2c3d4e5f6a7b'
down_revision = 'd35c0a7f1e92'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table("disbursement_batches",
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('batch_no', sa.String(length=32), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('total_amount', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=120), nullable=False),
    sa.Column('resubmitted_from', sa.String(length=32), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.String(length=500), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('DRAFT','PENDING','REJECTED','RUNNING','COMPLETED')",
                       name=op.f('ck_disbursement_batches_status')),
    sa.CheckConstraint("row_count > 0 AND total_amount > 0", name=op.f('ck_disbursement_batches_not_empty')),
    sa.CheckConstraint("status <> 'REJECTED' OR reject_reason IS NOT NULL",
                       name=op.f('ck_disbursement_batches_rejected_has_reason')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_disbursement_batches_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['users.id'],
                            name=op.f('fk_disbursement_batches_uploaded_by_user_id_users')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'],
                            name=op.f('fk_disbursement_batches_decided_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursement_batches')),
    sa.UniqueConstraint('batch_no', name=op.f('uq_disbursement_batches_batch_no')),
    )
    with op.batch_alter_table('disbursement_batches', schema=None) as batch_op:
        batch_op.create_index('ix_disbursement_batches_created', ['created_at'], unique=False)
    op.create_table("disbursement_batch_rows",
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('batch_id', BIGINT, nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('account_name', sa.String(length=200), nullable=False),
    sa.Column('account_no_enc', sa.Text(), nullable=False),
    sa.Column('account_no_masked', sa.String(length=40), nullable=False),
    sa.Column('bank_code', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=True),
    sa.Column('refused_reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint("amount > 0", name=op.f('ck_disbursement_batch_rows_amount_positive')),
    sa.ForeignKeyConstraint(['batch_id'], ['disbursement_batches.id'],
                            name=op.f('fk_disbursement_batch_rows_batch_id_disbursement_batches')),
    sa.ForeignKeyConstraint(['order_no'], ['disbursements.order_no'],
                            name=op.f('fk_disbursement_batch_rows_order_no_disbursements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursement_batch_rows')),
    sa.UniqueConstraint('batch_id', 'row_no', name='uq_disbursement_batch_rows_batch_row'),
    sa.UniqueConstraint('request_id', name=op.f('uq_disbursement_batch_rows_request_id')),
    )


def downgrade():
    op.drop_table('disbursement_batch_rows')
    op.drop_table('disbursement_batches')
