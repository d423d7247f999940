"""The document rows' state changes around a rendering, and the bytes.

``claim`` moves QUEUED → RENDERING (one job wins: a duplicate job finds nothing to do) and returns
the attempt number; ``store`` writes the bytes, size and SHA-256 and moves RENDERING → READY in one
transaction, only for the attempt that claimed it (a job the sweep gave up on cannot overwrite a
later attempt). Nothing is READY without its bytes (a CHECK constraint backs this), so a download
never finds half a file. ``content`` reads the bytes back and checks them against the SHA-256.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from ...domain.enums import DocumentState
from ...extensions import db
from ...models import Document, DocumentContent
from ...models.types import now_utc
from ..alerts.kinds import DOCUMENT_FAILED
from ..alerts.raising import clear_alert
from ..audit import log as audit
from ..platform.actor import SYSTEM
from ..platform.unit_of_work import rows_changed, transaction
from . import registry


class ContentMismatch(Exception):
    """The stored bytes do not match the SHA-256 recorded with them (never served)."""


def claim(document_id: int) -> int | None:
    """QUEUED → RENDERING; the attempt number, or None when another job has it or it is not queued."""
    with transaction():
        changed = rows_changed(sa.update(Document).where(Document.id == document_id,
                                                         Document.state == DocumentState.QUEUED)
                               .values(state=DocumentState.RENDERING, attempts=Document.attempts + 1,
                                       rendering_started_at=now_utc(), updated_at=now_utc()))
        if changed != 1:
            return None
        return db.session.scalar(sa.select(Document.attempts).where(Document.id == document_id))


def store(document_id: int, attempt: int, pdf: bytes, facts: dict[str, Any]) -> bool:
    """Keep ``pdf`` as the document's content and make it READY; False (nothing written) when this
    attempt no longer owns the rendering."""
    if not pdf.startswith(b"%PDF-"):
        raise ValueError("not a PDF")
    with transaction():
        doc = db.session.scalars(sa.select(Document).where(Document.id == document_id).with_for_update()).one()
        if doc.state != DocumentState.RENDERING or doc.attempts != attempt:
            return False
        db.session.execute(sa.delete(DocumentContent).where(DocumentContent.document_id == document_id))
        db.session.add(DocumentContent(document_id=document_id, content=pdf))
        doc.size_bytes = len(pdf)
        doc.sha256 = hashlib.sha256(pdf).hexdigest()
        doc.facts = facts or None
        doc.ready_at = now_utc()
        doc.state = DocumentState.READY
        db.session.flush()
        audit.record(SYSTEM, "document.ready", "document", doc.number, {"state": DocumentState.RENDERING.value},
                     {"state": DocumentState.READY.value, "sizeBytes": doc.size_bytes, "sha256": doc.sha256})
        if doc.attempts > 1:  # an earlier attempt may have failed and raised an alert
            clear_alert(DOCUMENT_FAILED, doc.number, note="the document was made on a later attempt")
        doc_type = registry.get(doc.doc_type)
        if doc_type.on_ready is not None:
            doc_type.on_ready(doc)
        return True


def content(doc: Document) -> bytes:
    """The bytes of a READY document, checked against its SHA-256 (ContentMismatch otherwise)."""
    data = db.session.scalar(sa.select(DocumentContent.content).where(DocumentContent.document_id == doc.id))
    if data is None or doc.sha256 is None or hashlib.sha256(data).hexdigest() != doc.sha256:
        raise ContentMismatch(f"document {doc.number}: stored bytes do not match their SHA-256")
    return bytes(data)
