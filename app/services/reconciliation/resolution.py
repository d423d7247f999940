"""Finance resolves a reconciliation exception: a note is required (why), who and when are kept, the
change is audited, and the exception stays (RESOLVED, never deleted). Locks the run first, then the
exception: the order a recomputation takes (runs.py)."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.enums import ReconExceptionState
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...extensions import db
from ...models import ReconciliationException, ReconciliationRun
from ...models.types import now_utc
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction

NOTE_LENGTH = 500


def resolve(actor: Actor, exception_id: int, note: str) -> None:
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("a note saying why is required", field="note")
    if len(note) > NOTE_LENGTH:
        raise ValidationFailed(f"a note has at most {NOTE_LENGTH} characters", field="note")
    with transaction():
        run_id = db.session.scalar(sa.select(ReconciliationException.run_id)
                                   .where(ReconciliationException.id == exception_id))
        if run_id is None:
            raise NotFound("no such reconciliation exception")
        run = db.session.execute(sa.select(ReconciliationRun).where(ReconciliationRun.id == run_id)
                                 .with_for_update()).scalar_one()
        exc = db.session.execute(sa.select(ReconciliationException).where(
            ReconciliationException.id == exception_id).with_for_update()).scalar_one()
        if exc.state != ReconExceptionState.OPEN:
            raise StateConflict("the exception is already resolved")
        exc.state, exc.resolved_by, exc.resolved_at, exc.resolution_note = (
            ReconExceptionState.RESOLVED, actor.label, now_utc(), note)
        db.session.flush()
        run.exception_count = int(db.session.scalar(sa.select(sa.func.count()).select_from(ReconciliationException)
                                                    .where(ReconciliationException.run_id == run.id,
                                                           ReconciliationException.state == ReconExceptionState.OPEN))
                                  or 0)
        audit.record(actor, "reconciliation.exception_resolved", "recon_exception", str(exc.id),
                     before={"state": ReconExceptionState.OPEN.value},
                     after={"state": exc.state, "class": exc.exception_class, "day": run.day.isoformat(),
                            "channel": run.channel_code, "note": note})
