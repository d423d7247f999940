"""Read side of documents for the screens: one document as a screen shows it, a merged payment's
receipt, a company's documents (a reseller sees only its own; finance sees all)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from ...domain.enums import DocumentState
from ...extensions import db
from ...models import Document

FINAL_STATES = frozenset({DocumentState.READY, DocumentState.FAILED})
MAX_LIST = 200


@dataclass(frozen=True)
class DocumentView:
    id: int
    number: str
    kind: str
    doc_type: str
    subject: str
    reseller_id: int | None
    state: str
    failure_code: str | None
    failure_reason: str | None
    size_bytes: int | None
    sha256: str | None
    verification_code: str | None
    period_start: date | None
    period_end: date | None
    created_at: datetime
    ready_at: datetime | None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def is_ready(self) -> bool:
        return self.state == DocumentState.READY


def view(doc: Document) -> DocumentView:
    return DocumentView(doc.id, doc.number, doc.kind, doc.doc_type, doc.subject, doc.reseller_id, doc.state,
                        doc.failure_code, doc.failure_reason, doc.size_bytes, doc.sha256, doc.verification_code,
                        doc.period_start, doc.period_end, doc.created_at, doc.ready_at)


def latest(doc_type: str, subject: str, reseller_id: int | None) -> DocumentView | None:
    """The newest document of ``doc_type`` about ``subject`` for the company (a receipt of a payment)."""
    doc = db.session.scalar(sa.select(Document).where(
        Document.doc_type == doc_type, Document.subject == subject, Document.reseller_id == reseller_id)
        .order_by(Document.created_at.desc(), Document.id.desc()).limit(1))
    return view(doc) if doc is not None else None


def by_number(number: str, reseller_id: int | None) -> DocumentView | None:
    """The document ``number``, if ``reseller_id`` owns it (None: any document, for finance)."""
    conds = [Document.number == number]
    if reseller_id is not None:
        conds.append(Document.reseller_id == reseller_id)
    doc = db.session.scalar(sa.select(Document).where(*conds))
    return view(doc) if doc is not None else None


def listing(reseller_id: int | None, kinds: Iterable[str] | None = None, limit: int = 50) -> list[DocumentView]:
    """Newest first: the company's documents (``reseller_id`` None: every document, for finance)."""
    conds = []
    if reseller_id is not None:
        conds.append(Document.reseller_id == reseller_id)
    if kinds:
        conds.append(Document.kind.in_(list(kinds)))
    docs = db.session.scalars(sa.select(Document).where(*conds)
                              .order_by(Document.created_at.desc(), Document.id.desc())
                              .limit(min(max(limit, 1), MAX_LIST))).all()
    return [view(d) for d in docs]
