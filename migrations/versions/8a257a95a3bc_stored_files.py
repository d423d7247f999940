"""Files kept for download in the database (stored_files, stored_file_chunks): uploaded wire vouchers
and export files, which were on the local disk of the process that wrote them (VOUCHER_DIR,
instance/exports), so another web process could not serve them. The vouchers already on disk are
copied in; the export files (kept a day, their jobs gone with them) are not.

Revision ID: 8a257a95a3bc
Revises: 075bcd59d4f2
"""
import hashlib
import os

import sqlalchemy as sa
from alembic import op

revision = "8a257a95a3bc"
down_revision = "075bcd59d4f2"
branch_labels = None
depends_on = None

CHUNK_BYTES = 1024 * 1024


def upgrade():
    op.create_table(
        "stored_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_stored_files_size_nonneg")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
        sa.UniqueConstraint("key", name=op.f("uq_stored_files_key")),
    )
    op.create_index("ix_stored_files_expires", "stored_files", ["expires_at"], unique=False)
    op.create_table(
        "stored_file_chunks",
        sa.Column("file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["stored_files.id"], name=op.f("fk_stored_file_chunks_file_id_stored_files")),
        sa.PrimaryKeyConstraint("file_id", "seq", name=op.f("pk_stored_file_chunks")),
    )
    _copy_voucher_files()


def _copy_voucher_files():
    directory = _voucher_dir()
    if not directory or not os.path.isdir(directory):
        return
    conn = op.get_bind()
    files = sa.table("stored_files", sa.column("id"), sa.column("key"), sa.column("content_type"),
                     sa.column("size_bytes"), sa.column("sha256"), sa.column("created_at"))
    chunks = sa.table("stored_file_chunks", sa.column("file_id"), sa.column("seq"), sa.column("data"))
    rows = conn.execute(sa.text("SELECT stored_name, content_type, created_at FROM vouchers")).all()
    for stored_name, content_type, created_at in rows:
        path = os.path.join(directory, stored_name)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        file_id = conn.execute(files.insert().values(
            key=f"voucher/{stored_name}", content_type=content_type, size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(), created_at=created_at).returning(files.c.id)).scalar_one()
        for seq, start in enumerate(range(0, max(len(data), 1), CHUNK_BYTES)):
            conn.execute(chunks.insert().values(file_id=file_id, seq=seq, data=data[start:start + CHUNK_BYTES]))


def _voucher_dir():
    """Where the portal kept vouchers: its VOUCHER_DIR (the app runs this migration), else none."""
    try:
        from flask import current_app
        return current_app.config.get("VOUCHER_DIR")
    except RuntimeError:  # no application: a bare alembic run copies nothing
        return os.environ.get("VOUCHER_DIR")


def downgrade():
    op.drop_table("stored_file_chunks")
    op.drop_index("ix_stored_files_expires", table_name="stored_files")
    op.drop_table("stored_files")
