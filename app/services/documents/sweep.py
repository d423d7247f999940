"""Documents nobody is working on: a RENDERING one whose job died (the worker was killed, ran out
of memory or timed out without reaching ``failures``) is queued again, up to ``MAX_ATTEMPTS``
renderings, then FAILED with a reason; a QUEUED one whose job is not in the queue (Redis was down
when it was requested, or the queue was emptied) is enqueued again. Run every minute by the
schedule (``app/jobs/documents.sweep_documents``)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ...domain.enums import DocumentFailure, DocumentState
from ...extensions import db
from ...models import Document
from ...models.types import now_utc
from ..audit import log as audit
from ..platform.actor import SYSTEM
from ..platform.unit_of_work import end_read, transaction
from . import dispatch

MAX_ATTEMPTS = 3
BATCH = 500


def sweep() -> dict[str, int]:
    """One pass; how many documents were re-queued, failed and re-enqueued."""
    now = now_utc()
    stuck_after = timedelta(seconds=current_app.config.get("DOCUMENT_STUCK_SECONDS", 1800))
    lost_after = timedelta(seconds=current_app.config.get("DOCUMENT_REDISPATCH_SECONDS", 120))
    requeued = failed = 0
    with transaction():
        stuck = db.session.scalars(sa.select(Document).where(
            Document.state == DocumentState.RENDERING, Document.rendering_started_at < now - stuck_after)
            .order_by(Document.id).limit(BATCH).with_for_update()).all()
        for doc in stuck:
            if doc.attempts >= MAX_ATTEMPTS:
                doc.state = DocumentState.FAILED
                doc.failure_code = DocumentFailure.STUCK
                doc.failure_reason = (f"Rendering was started {doc.attempts} times and never finished "
                                      "(the worker stopped or ran out of memory). Try again later.")
                failed += 1
                action = "document.failed"
            else:
                doc.state = DocumentState.QUEUED
                doc.queued_at = now
                requeued += 1
                action = "document.requeued"
                dispatch.after_commit(doc.id, doc.number)
            doc.updated_at = now
            audit.record(SYSTEM, action, "document", doc.number, {"state": DocumentState.RENDERING.value},
                         {"state": doc.state, "attempts": doc.attempts})
    lost = db.session.execute(sa.select(Document.id, Document.number).where(
        Document.state == DocumentState.QUEUED, Document.queued_at < now - lost_after)
        .order_by(Document.id).limit(BATCH)).all()
    end_read()
    enqueued = sum(1 for document_id, number in lost if dispatch.enqueue(document_id, number))
    return {"requeued": requeued, "failed": failed, "enqueued": enqueued}
