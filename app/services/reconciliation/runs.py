"""A run: one channel's day matched against its current statement import.

1. What the channel reports SUCCESS and we still hold PROCESSING (same amount) is settled through
   the settlement path, one transaction per channel payment, as a callback or the compensation
   query would: a callback racing it settles once (the channel payment's row lock decides).
2. In one transaction, under the run's row lock: the previous computation's results are replaced
   (matching.py), the figures per class are counted, a difference not yet known becomes an OPEN
   exception, and an OPEN exception the new statement no longer shows is resolved by the system
   (with why; not one whose action waits for a second finance user: that one waits for the
   decision). Exceptions are never deleted.
3. ``reconciliation.completed`` (with the figures) and, when differences are open,
   ``reconciliation.exceptions_found`` go out with the commit.

The run's ``progress`` (progress.py) says SETTLING (with the count settled so far, written at most
once a second), then MATCHING, then DONE in the transaction of step 2.
"""

from __future__ import annotations

import time
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...domain.enums import ChannelPaymentStatus, ReconAction, ReconClass, ReconExceptionState, ReconRunState
from ...domain.event_types import EventType
from ...extensions import db
from ...models import (
    Channel,
    ReconciliationException,
    ReconciliationResult,
    ReconciliationRun,
    StatementImport,
    StatementLine,
)
from ...models.types import now_utc
from ..alerts.kinds import RECONCILIATION_EXCEPTIONS
from ..alerts.raising import clear_alert, raise_alert
from ..audit import log as audit
from ..platform import outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import discard, end_read, rows_changed, transaction
from ..settlement import channel_result as settlement
from . import matching, progress
from .figures import cents_sum, from_cents

RECONCILIATION = Actor(type="system", id="reconciliation")


def run_for(channel_id: int, day: date) -> ReconciliationRun | None:
    return db.session.scalar(sa.select(ReconciliationRun).where(ReconciliationRun.channel_id == channel_id,
                                                                ReconciliationRun.day == day))


def ensure_run(channel: Channel, day: date) -> None:
    try:
        with transaction():
            if run_for(channel.id, day) is None:
                db.session.add(ReconciliationRun(channel_id=channel.id, channel_code=channel.code,
                                                 channel_kind=channel.kind, day=day, state=ReconRunState.RUNNING,
                                                 attempt=0, figures={}, exception_count=0))
    except IntegrityError:
        discard()  # created at the same moment by another run: it is there now


def is_current(channel_id: int, day: date, import_id: int) -> bool:
    """True when the run of that day already matched exactly this import."""
    run = run_for(channel_id, day)
    return run is not None and run.state == ReconRunState.COMPLETED and run.import_id == import_id


PROGRESS_EVERY_SECONDS = 1.0


def _settle_processing(import_id: int, channel_id: int, day: date) -> int:
    candidates = matching.settle_candidates(import_id, channel_id)
    lines = db.session.scalar(sa.select(StatementImport.line_count).where(StatementImport.id == import_id)) or 0
    end_read()
    progress.mark(channel_id, day, progress.SETTLING, lines=lines, toSettle=len(candidates), settled=0)
    settled, written = 0, time.monotonic()
    for n, c in enumerate(candidates, start=1):
        if settlement.settle(c.channel_payment_pk, settlement.Outcome(
                status=ChannelPaymentStatus.SUCCESS, channel_transaction_id=c.channel_transaction_id,
                completed_at=c.completed_at, reason=""), RECONCILIATION):
            settled += 1
        if time.monotonic() - written >= PROGRESS_EVERY_SECONDS and n < len(candidates):
            progress.mark(channel_id, day, progress.SETTLING, settled=settled, tried=n)
            written = time.monotonic()
    progress.mark(channel_id, day, progress.MATCHING, settled=settled, tried=len(candidates))
    return settled


def _figures() -> dict[str, dict[str, str | int]]:
    return {c.value: {"count": 0, "amount": "0.00"} for c in ReconClass}


def _count(run_id: int, matched: tuple[int, int]) -> dict[str, dict[str, str | int]]:
    r = ReconciliationResult
    figures = _figures()
    figures[ReconClass.MATCHED.value] = {"count": matched[0], "amount": f"{from_cents(matched[1]):.2f}"}
    rows = db.session.execute(
        sa.select(r.result_class, sa.func.count(), cents_sum(sa.func.coalesce(r.channel_amount, r.our_amount)))
        .where(r.run_id == run_id).group_by(r.result_class)).all()
    for cls, n, cents in rows:
        figures[cls] = {"count": int(n), "amount": f"{from_cents(cents):.2f}"}
    return figures


def _record_exceptions(run_id: int, now: datetime) -> tuple[int, int]:
    """New differences become OPEN exceptions; OPEN ones the statement no longer shows are resolved.
    Returns (opened, closed)."""
    r, e = ReconciliationResult, ReconciliationException
    line = StatementLine.__table__
    known = sa.exists(sa.select(1).select_from(e).where(e.run_id == r.run_id, e.exception_class == r.result_class,
                                                        e.match_key == r.match_key))
    new = (sa.select(r.run_id, r.result_class, r.match_key, line.c.channel_transaction_id, line.c.reference,
                     r.channel_payment_id, r.channel_amount, r.our_amount, r.channel_status, r.our_status,
                     sa.literal(ReconExceptionState.OPEN.value), sa.literal(now, e.created_at.type))
           .select_from(sa.outerjoin(r, line, line.c.id == r.line_id))
           .where(r.run_id == run_id, r.result_class != ReconClass.MATCHED, ~known))
    opened = rows_changed(sa.insert(e).from_select(
        ["run_id", "exception_class", "match_key", "channel_transaction_id", "reference", "channel_payment_id",
         "channel_amount", "our_amount", "channel_status", "our_status", "state", "created_at"], new))
    still = sa.exists(sa.select(1).select_from(r).where(r.run_id == e.run_id, r.result_class == e.exception_class,
                                                        r.match_key == e.match_key))
    closed = rows_changed(
        sa.update(e).where(e.run_id == run_id, e.state == ReconExceptionState.OPEN, e.pending_action.is_(None), ~still)
        .values(state=ReconExceptionState.RESOLVED, resolved_by=RECONCILIATION.label, resolved_at=now,
                resolution_note="not on the corrected statement", resolution_action=ReconAction.SYSTEM.value)
        .execution_options(synchronize_session=False))
    return opened, closed


def reconcile(channel_id: int, day: date, import_id: int, actor: Actor = RECONCILIATION) -> int:
    """Match the channel's day against ``import_id`` (recomputing an earlier run). Returns the run's id."""
    channel = db.session.get_one(Channel, channel_id)
    end_read()
    ensure_run(channel, day)
    settled = _settle_processing(import_id, channel_id, day)
    with transaction():
        run = db.session.execute(sa.select(ReconciliationRun).where(
            ReconciliationRun.channel_id == channel_id, ReconciliationRun.day == day).with_for_update()).scalar_one()
        now = now_utc()
        db.session.execute(sa.delete(ReconciliationResult).where(ReconciliationResult.run_id == run.id))
        matched = matching.classify(run.id, import_id, channel_id, day)
        figures = _count(run.id, matched)
        opened, closed = _record_exceptions(run.id, now)
        open_count = db.session.scalar(sa.select(sa.func.count()).select_from(ReconciliationException).where(
            ReconciliationException.run_id == run.id, ReconciliationException.state == ReconExceptionState.OPEN))
        run.import_id, run.attempt, run.state = import_id, run.attempt + 1, ReconRunState.COMPLETED
        run.figures = {**figures, "settled": settled}
        run.exception_count, run.started_at, run.completed_at = int(open_count or 0), now, now
        earlier = run.progress or {}
        run.progress = progress.stamped(progress.DONE, lines=int(earlier.get("lines") or 0),
                                        toSettle=int(earlier.get("toSettle") or 0), settled=settled,
                                        classified=sum(int(f["count"]) for f in figures.values()))
        payload = {"reconciliationDate": day.isoformat(), "channelCode": channel.code, "channelKind": channel.kind,
                   "attempt": run.attempt, "classes": figures, "settled": settled,
                   "openExceptions": run.exception_count}
        audit.record(actor, "reconciliation.completed", "recon_run", str(run.id),
                     after={**payload, "importId": import_id, "opened": opened, "closed": closed})
        outbox.emit(EventType.RECONCILIATION_COMPLETED, "reconciliation", f"{day.isoformat()}/{channel.code}", payload)
        subject = f"{day.isoformat()}/{channel.code}"
        if run.exception_count:
            outbox.emit(EventType.RECONCILIATION_EXCEPTIONS_FOUND, "reconciliation",
                        subject, {**payload, "newExceptions": opened})
            raise_alert(RECONCILIATION_EXCEPTIONS, f"{run.exception_count} open reconciliation exceptions",
                        subject=subject, day=day.isoformat(), channel=channel.code, open=run.exception_count)
        else:
            clear_alert(RECONCILIATION_EXCEPTIONS, subject, actor, note="no open exception on the latest run")
        return run.id


def record_figures(channel_id: int, day: date, more: dict[str, object]) -> None:
    """Set more figures of the day's run (the caller's transaction), such as the ledgers' balance
    check (ledger_statement.py): under the run's lock, beside the classes ``reconcile`` counted (which
    alone are objects with a count and an amount)."""
    run = db.session.execute(sa.select(ReconciliationRun).where(
        ReconciliationRun.channel_id == channel_id, ReconciliationRun.day == day).with_for_update()).scalar_one()
    run.figures = {**(run.figures or {}), **more}
