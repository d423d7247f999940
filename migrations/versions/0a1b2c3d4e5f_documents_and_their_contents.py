"""PDF documents (receipts, statements, reports) and their bytes, kept in the database so that any web
process serves what any worker rendered (docs/ARCHITECTURE.md §12).

Revision ID: 0a1b2c3d4e5f
Revises: b8c9d0e1f2a3
"""
from alembic import op
import sqlalchemy as sa

revision = '0a1b2c3d4e5f'
down_revision = 'b8c9d0e1f2a3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("documents",
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('doc_type', sa.String(length=32), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('data_version', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('failure_code', sa.String(length=16), nullable=True),
    sa.Column('failure_reason', sa.String(length=500), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('verification_code', sa.String(length=32), nullable=True),
    sa.Column('facts', sa.JSON(), nullable=True),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rendering_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('RECEIPT','STATEMENT','REPORT')", name=op.f('ck_documents_kind')),
    sa.CheckConstraint("state <> 'FAILED' OR (failure_reason IS NOT NULL AND failure_code IS NOT NULL)", name=op.f('ck_documents_failed_has_reason')),
    sa.CheckConstraint("failure_code IS NULL OR failure_code IN ('BAD_DATA','RENDER_ERROR','TOO_LARGE','STUCK','UNKNOWN_TYPE')", name=op.f('ck_documents_failure_code')),
    sa.CheckConstraint("state <> 'READY' OR (size_bytes > 0 AND sha256 IS NOT NULL AND ready_at IS NOT NULL)", name=op.f('ck_documents_ready_has_content')),
    sa.CheckConstraint("state IN ('QUEUED','RENDERING','READY','FAILED')", name=op.f('ck_documents_state')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_documents_attempts_nonneg')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['users.id'], name=op.f('fk_documents_requested_by_user_id_users')),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_documents_reseller_id_resellers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_documents_fingerprint')),
    sa.UniqueConstraint('number', name=op.f('uq_documents_number')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_documents_verification_code'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_reseller_created', ['reseller_id', 'created_at'], unique=False)
        batch_op.create_index('ix_documents_state_updated', ['state', 'updated_at'], unique=False)
        batch_op.create_index('ix_documents_type_subject', ['doc_type', 'subject'], unique=False)

    op.create_table('document_contents',
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_contents_document_id_documents')),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_document_contents'))
    )


def downgrade():
    op.drop_table("document_contents")
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_type_subject')
        batch_op.drop_index('ix_documents_state_updated')
        batch_op.drop_index('ix_documents_reseller_created')

    op.drop_table('documents')
