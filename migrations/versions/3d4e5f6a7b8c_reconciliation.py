"""Reconciliation (docs/DOMAIN.md §8): statement imports and lines, runs per day and channel, results
and exceptions.

Revision ID: 3d4e5f6a7b8c
Revises: 2c3d4e5f6a7b
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d4e5f6a7b8c'
down_revision = '2c3d4e5f6a7b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recon_imports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('channel_code', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('imported_by', sa.String(length=120), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("source IN ('GATEWAY','LEDGER')", name=op.f('ck_recon_imports_source')),
    sa.CheckConstraint('line_count >= 0', name=op.f('ck_recon_imports_line_count_nonneg')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_recon_imports_channel_id_channels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_imports')),
    sa.UniqueConstraint('channel_id', 'day', 'file_sha256', name='uq_recon_imports_file')
    )
    op.create_table('recon_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('import_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('line_type', sa.String(length=12), nullable=False),
    sa.Column('channel_transaction_id', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['recon_imports.id'], name=op.f('fk_recon_lines_import_id_recon_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_lines')),
    sa.UniqueConstraint('import_id', 'line_no', name='uq_recon_lines_import_line')
    )
    with op.batch_alter_table('recon_lines', schema=None) as batch_op:
        batch_op.create_index('ix_recon_lines_import_reference', ['import_id', 'reference'], unique=False)

    op.create_table('recon_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('channel_code', sa.String(length=32), nullable=False),
    sa.Column('channel_kind', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('import_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('exception_count', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('RUNNING','COMPLETED')", name=op.f('ck_recon_runs_state')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_recon_runs_channel_id_channels')),
    sa.ForeignKeyConstraint(['import_id'], ['recon_imports.id'], name=op.f('fk_recon_runs_import_id_recon_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_runs')),
    sa.UniqueConstraint('channel_id', 'day', name='uq_recon_runs_channel_day')
    )
    with op.batch_alter_table('recon_runs', schema=None) as batch_op:
        batch_op.create_index('ix_recon_runs_day', ['day'], unique=False)

    op.create_table('recon_exceptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('exception_class', sa.String(length=20), nullable=False),
    sa.Column('match_key', sa.String(length=80), nullable=False),
    sa.Column('channel_transaction_id', sa.String(length=64), nullable=True),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('channel_payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('channel_amount', sa.Numeric(precision=15, scale=2), nullable=True),
    sa.Column('our_amount', sa.Numeric(precision=15, scale=2), nullable=True),
    sa.Column('channel_status', sa.String(length=12), nullable=True),
    sa.Column('our_status', sa.String(length=16), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_by', sa.String(length=120), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sa.String(length=500), nullable=True),
    sa.CheckConstraint("exception_class IN ('MATCHED','AMOUNT_MISMATCH','STATUS_MISMATCH','MISSING_IN_SYSTEM','MISSING_IN_CHANNEL','DUPLICATE') AND exception_class <> 'MATCHED'", name=op.f('ck_recon_exceptions_exception_class')),
    sa.CheckConstraint("state = 'OPEN' OR (resolved_by IS NOT NULL AND resolution_note IS NOT NULL)", name=op.f('ck_recon_exceptions_resolved_has_who_why')),
    sa.CheckConstraint("state IN ('OPEN','RESOLVED')", name=op.f('ck_recon_exceptions_state')),
    sa.ForeignKeyConstraint(['channel_payment_id'], ['channel_payments.id'], name=op.f('fk_recon_exceptions_channel_payment_id_channel_payments')),
    sa.ForeignKeyConstraint(['run_id'], ['recon_runs.id'], name=op.f('fk_recon_exceptions_run_id_recon_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_exceptions')),
    sa.UniqueConstraint('run_id', 'exception_class', 'match_key', name='uq_recon_exceptions_key')
    )
    with op.batch_alter_table('recon_exceptions', schema=None) as batch_op:
        batch_op.create_index('ix_recon_exceptions_state', ['state', 'run_id'], unique=False)

    op.create_table('recon_results',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('result_class', sa.String(length=20), nullable=False),
    sa.Column('match_key', sa.String(length=80), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('channel_payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('channel_amount', sa.Numeric(precision=15, scale=2), nullable=True),
    sa.Column('our_amount', sa.Numeric(precision=15, scale=2), nullable=True),
    sa.Column('channel_status', sa.String(length=12), nullable=True),
    sa.Column('our_status', sa.String(length=16), nullable=True),
    sa.CheckConstraint("result_class IN ('MATCHED','AMOUNT_MISMATCH','STATUS_MISMATCH','MISSING_IN_SYSTEM','MISSING_IN_CHANNEL','DUPLICATE')", name=op.f('ck_recon_results_result_class')),
    sa.ForeignKeyConstraint(['channel_payment_id'], ['channel_payments.id'], name=op.f('fk_recon_results_channel_payment_id_channel_payments')),
    sa.ForeignKeyConstraint(['line_id'], ['recon_lines.id'], name=op.f('fk_recon_results_line_id_recon_lines')),
    sa.ForeignKeyConstraint(['run_id'], ['recon_runs.id'], name=op.f('fk_recon_results_run_id_recon_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_results'))
    )
    with op.batch_alter_table('recon_results', schema=None) as batch_op:
        batch_op.create_index('ix_recon_results_run_class', ['run_id', 'result_class'], unique=False)



def downgrade():
    with op.batch_alter_table('recon_results', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_results_run_class')

    op.drop_table('recon_results')
    with op.batch_alter_table('recon_exceptions', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_exceptions_state')

    op.drop_table('recon_exceptions')
    with op.batch_alter_table('recon_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_runs_day')

    op.drop_table('recon_runs')
    with op.batch_alter_table('recon_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_lines_import_reference')

    op.drop_table('recon_lines')
    op.drop_table('recon_imports')
