"""Files the portal keeps for later download — uploaded wire vouchers, export files — in the
database, in chunks (docs/ARCHITECTURE.md §12, "No local state"): any web process serves a file that
another process (or the worker on another machine) stored, with no shared directory to configure.
A file is written whole in one transaction: it is there with all its chunks, or not at all."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model
from .types import UTCDateTime, now_utc


class StoredFile(Model):
    """One stored file: its key (what names it, e.g. ``voucher/<uuid>``), type, size, SHA-256 and,
    for a file kept only a while (an export), when it may be removed."""

    __tablename__ = "stored_files"
    __table_args__ = (
        sa.CheckConstraint("size_bytes >= 0", name="size_nonneg"),
        sa.Index("ix_stored_files_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StoredFileChunk(Model):
    """A piece of a stored file (at most ``platform/file_store.CHUNK_BYTES``), in order of ``seq``."""

    __tablename__ = "stored_file_chunks"

    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
