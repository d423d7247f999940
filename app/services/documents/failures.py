"""A rendering that fails leaves the document FAILED with a reason a person can read (shown on the
screens next to the document), and a person can ask for it again (``retry``: back to QUEUED)."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.enums import DocumentFailure, DocumentState
from ...domain.errors import NotFound, StateConflict
from ...extensions import db
from ...models import Document
from ...models.types import now_utc
from ..alerts.kinds import DOCUMENT_FAILED
from ..alerts.raising import raise_alert
from ..audit import log as audit
from ..platform.actor import SYSTEM, Actor
from ..platform.unit_of_work import transaction
from . import registry, requests

MAX_REASON = 500


def reason_for(exc: BaseException) -> tuple[DocumentFailure, str]:
    """What went wrong: the code the screens turn into the reader's words, and the details."""
    if isinstance(exc, registry.BadDocumentData):
        return DocumentFailure.BAD_DATA, str(exc)[:MAX_REASON]
    if isinstance(exc, MemoryError):
        return DocumentFailure.TOO_LARGE, "The document is too large to render (the worker ran out of memory)."
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DocumentFailure.RENDER_ERROR, f"The document could not be rendered ({type(exc).__name__}: {detail})."[
        :MAX_REASON]


def mark_failed(document_id: int, attempt: int | None, code: DocumentFailure, reason: str) -> bool:
    """RENDERING (or QUEUED, when ``attempt`` is None) → FAILED with ``code`` and ``reason``; False
    when this attempt no longer owns the document."""
    with transaction():
        doc = db.session.scalars(sa.select(Document).where(Document.id == document_id).with_for_update()).one()
        owned = (doc.state == DocumentState.RENDERING and doc.attempts == attempt) if attempt is not None \
            else doc.state in (DocumentState.QUEUED, DocumentState.RENDERING)
        if not owned:
            return False
        before = {"state": doc.state}
        doc.state = DocumentState.FAILED
        doc.failure_code = code.value
        doc.failure_reason = reason[:MAX_REASON]
        doc.updated_at = now_utc()
        audit.record(SYSTEM, "document.failed", "document", doc.number, before,
                     {"state": DocumentState.FAILED.value, "code": code.value, "reason": doc.failure_reason})
        raise_alert(DOCUMENT_FAILED, f"the {doc.doc_type} document {doc.number} could not be made",
                    subject=doc.number, document=doc.number, type=doc.doc_type, code=code.value,
                    reason=doc.failure_reason)
        return True


def retry(actor: Actor, number: str, reseller_id: int | None) -> None:
    """Queue a FAILED document again. ``reseller_id``: the company whose document it must be (None:
    any, for finance). NotFound for another company's or an unknown document, StateConflict for one
    that has not failed."""
    with transaction():
        conds = [Document.number == number]
        if reseller_id is not None:
            conds.append(Document.reseller_id == reseller_id)
        doc = db.session.scalars(sa.select(Document).where(*conds).with_for_update()).one_or_none()
        if doc is None:
            raise NotFound("no such document")
        if doc.state != DocumentState.FAILED:
            raise StateConflict(f"the document is {doc.state}, not FAILED")
        requests.requeue(actor, doc)
