"""Resolving a reconciliation exception, the part every action shares (exception_actions.py): a note is
required (why), who, when, why and which action are kept, the change is audited, and the exception
stays (RESOLVED, never deleted); above the approval threshold it waits (``wait_for_approval``). Locks
the run first, then the exception: the order a recomputation takes (runs.py). ``resolve`` itself is the
write-off: resolved with a reason, nothing moves."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.enums import ReconAction, ReconExceptionState
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...extensions import db
from ...models import ReconciliationException, ReconciliationRun
from ...models.types import now_utc
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from .notes import require_note

RESOLVED, WAITING = "resolved", "waiting"  # what an action returns: done, or waiting for a second user


class ActionDoesNotFit(ValidationFailed):
    """The action is not one of those that fit the exception's class and its payment's state now."""


class AlreadyResolved(StateConflict):
    """The exception is no longer open (another finance user resolved it), or waits for an approval."""


class WaitsForApproval(AlreadyResolved):
    """An action on the exception waits for a second finance user: nothing else is done meanwhile."""


def lock(exception_id: int) -> tuple[ReconciliationRun, ReconciliationException]:
    """The exception's run, then the exception, locked (in the caller's transaction)."""
    run_id = db.session.scalar(sa.select(ReconciliationException.run_id)
                               .where(ReconciliationException.id == exception_id))
    if run_id is None:
        raise NotFound("no such reconciliation exception")
    run = db.session.execute(sa.select(ReconciliationRun).where(ReconciliationRun.id == run_id)
                             .with_for_update()).scalar_one()
    exc = db.session.execute(sa.select(ReconciliationException).where(
        ReconciliationException.id == exception_id).with_for_update()).scalar_one()
    db.session.refresh(exc)
    return run, exc


def lock_open(exception_id: int) -> tuple[ReconciliationRun, ReconciliationException]:
    """``lock``, refusing an exception already resolved or waiting for a second finance user."""
    run, exc = lock(exception_id)
    if exc.state != ReconExceptionState.OPEN:
        raise AlreadyResolved("the exception is already resolved")
    if exc.pending_action is not None:
        raise WaitsForApproval("the exception waits for a second finance user's approval")
    return run, exc


def wait_for_approval(exc: ReconciliationException, action: ReconAction, actor: Actor, user_id: int | None,
                      note: str, **detail: object) -> str:
    """The action waits for a second finance user (exception_approval.py): who asked, when, why; audited."""
    exc.pending_action, exc.requested_by_user_id, exc.requested_by = action.value, user_id, actor.label
    exc.requested_at, exc.requested_note = now_utc(), note
    audit.record(actor, "reconciliation.exception_action_requested", "recon_exception", str(exc.id), None,
                 {"action": action.value, "class": exc.exception_class, "note": note,
                  **{k: v for k, v in detail.items() if v is not None}})
    return WAITING


def clear_pending(exc: ReconciliationException) -> None:
    exc.pending_action = exc.pending_payment_id = exc.requested_by_user_id = None
    exc.requested_by = exc.requested_at = exc.requested_note = None


def close(run: ReconciliationRun, exc: ReconciliationException, actor: Actor, action: ReconAction, note: str,
          detail: dict | None = None, resolved_by: str | None = None) -> None:
    """RESOLVED with who, when, why and which action; the run's open count follows; audited."""
    clear_pending(exc)
    exc.state, exc.resolved_by, exc.resolved_at, exc.resolution_note = (
        ReconExceptionState.RESOLVED, (resolved_by or actor.label)[:120], now_utc(), note)
    exc.resolution_action = action.value
    db.session.flush()
    run.exception_count = int(db.session.scalar(sa.select(sa.func.count()).select_from(ReconciliationException)
                                                .where(ReconciliationException.run_id == run.id,
                                                       ReconciliationException.state == ReconExceptionState.OPEN))
                              or 0)
    audit.record(actor, "reconciliation.exception_resolved", "recon_exception", str(exc.id),
                 before={"state": ReconExceptionState.OPEN.value},
                 after={"state": exc.state, "class": exc.exception_class, "day": run.day.isoformat(),
                        "channel": run.channel_code, "action": action.value, "note": note, **(detail or {})})


def resolve(actor: Actor, exception_id: int, note: str) -> None:
    """Write off: resolved with the reason, nothing moves (every class)."""
    note = require_note(note)
    with transaction():
        run, exc = lock_open(exception_id)
        close(run, exc, actor, ReconAction.WRITE_OFF, note)
