"""PDF documents (receipts, statements, reports) and their bytes (docs/DOMAIN.md §8 "PDF documents").

The bytes live in the database (``document_contents``), not on a disk: every web process can serve
a document the worker rendered on another machine, with no shared directory to configure
(docs/ARCHITECTURE.md §12). A document is READY only with its bytes, size and SHA-256, written in
the one transaction that ends its rendering, so nothing half-written is ever offered."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.enums import DocumentFailure, DocumentKind, DocumentState
from .base import Model
from .types import UTCDateTime, now_utc, sql_values


class Document(Model):
    """One requested document: what it is (kind, type, subject, period, owner company), where it is
    in its life (state, attempts, failure reason) and, once READY, what was stored (size, SHA-256)."""

    __tablename__ = "documents"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {sql_values(DocumentKind)}", name="kind"),
        sa.CheckConstraint(f"state IN {sql_values(DocumentState)}", name="state"),
        sa.CheckConstraint("state <> 'READY' OR (size_bytes > 0 AND sha256 IS NOT NULL AND ready_at IS NOT NULL)",
                           name="ready_has_content"),
        sa.CheckConstraint("state <> 'FAILED' OR (failure_reason IS NOT NULL AND failure_code IS NOT NULL)",
                           name="failed_has_reason"),
        sa.CheckConstraint(f"failure_code IS NULL OR failure_code IN {sql_values(DocumentFailure)}",
                           name="failure_code"),
        sa.CheckConstraint("attempts >= 0", name="attempts_nonneg"),
        sa.Index("ix_documents_reseller_created", "reseller_id", "created_at"),
        sa.Index("ix_documents_state_updated", "state", "updated_at"),
        sa.Index("ix_documents_type_subject", "doc_type", "subject"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    # The registry entry that renders it (services/documents/registry.py), e.g. RECEIPT, STATEMENT.
    doc_type: Mapped[str] = mapped_column(sa.String(32))
    reseller_id: Mapped[int | None] = mapped_column(sa.ForeignKey("resellers.id"))  # None: a finance document
    subject: Mapped[str] = mapped_column(sa.String(64))  # a merged payment id, a refund id, a month, a day
    period_start: Mapped[date | None] = mapped_column(sa.Date)
    period_end: Mapped[date | None] = mapped_column(sa.Date)
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    data_version: Mapped[str] = mapped_column(sa.String(64))
    # SHA-256 of type, subject and data version: the same document for the same data is one row.
    fingerprint: Mapped[str] = mapped_column(sa.String(64), unique=True)
    state: Mapped[str] = mapped_column(sa.String(12), default=DocumentState.QUEUED)
    failure_code: Mapped[str | None] = mapped_column(sa.String(16))  # DocumentFailure: the screens' words
    failure_reason: Mapped[str | None] = mapped_column(sa.String(500))  # the details, for people and logs
    attempts: Mapped[int] = mapped_column(default=0)
    size_bytes: Mapped[int | None] = mapped_column(sa.Integer)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    verification_code: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    facts: Mapped[dict | None] = mapped_column(sa.JSON)  # the key facts /verify/<code> confirms
    requested_by: Mapped[str] = mapped_column(sa.String(64))  # the actor: user:12, system:system
    requested_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    rendering_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc, nullable=False)


class DocumentContent(Model):
    """The PDF bytes of a READY document, written with its state change."""

    __tablename__ = "document_contents"

    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id"), primary_key=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
