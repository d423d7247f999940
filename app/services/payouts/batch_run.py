"""Running an approved disbursement batch (docs/DOMAIN.md §9) through the one payout path.

``run`` (the ``low`` queue's job) makes one payout per row, in row order, with the row's request id
(``batches.request_id``: ``batch:<batch_no>:<row_no>``) and source BATCH: ``creation.insert_order``
checks the merchant's single and daily limits under the merchant lock, as for any payout; a row it
refuses (the daily limit reached, say) keeps the reason and counts as failed, and the run goes on. The
bank is called with no transaction open (``creation.send``). Running again — a retried job, a second
job, the schedule's ``resume_stalled`` — pays nothing twice: a row with a payout is skipped, a row whose
payout exists (a run that died between insert and link) is linked to it, and concurrent runs serialise
on the row lock (or hit the unique request id).

A batch completes when every row is final (``batch_progress``): the last payout to become final does
it, in its own transaction (``on_payout_final``, registered for source BATCH by services/connections.py),
under the batch's row lock so that two payouts finishing at once cannot both miss it. Completion
writes ``disbursement_batch.completed`` to the outbox with the counts and amounts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...domain.enums import BatchStatus, PayoutSource
from ...domain.errors import ValidationFailed
from ...domain.event_types import EventType
from ...domain.money import money_str
from ...domain.timeutil import to_shanghai_iso
from ...extensions import db
from ...models import Disbursement, DisbursementBatch, DisbursementBatchRow, Merchant
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import crypto, outbox
from ..platform.actor import SYSTEM, Actor
from ..platform.unit_of_work import discard, transaction
from . import batch_dispatch, batch_progress
from .creation import insert_order, send
from .request import DisbursementRequest

STALLED_AFTER = timedelta(minutes=10)
_M = TypeVar("_M", DisbursementBatch, DisbursementBatchRow)


def _lock(model: type[_M], *conds: sa.ColumnElement[bool]) -> _M | None:
    stmt = sa.select(model).where(*conds)
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    obj = db.session.scalar(stmt)
    if obj is not None:
        db.session.refresh(obj)
    return obj


def _link_existing(row_id: int) -> None:
    with transaction():
        row = _lock(DisbursementBatchRow, DisbursementBatchRow.id == row_id)
        if row is not None and row.order_no is None:
            existing = db.session.scalar(sa.select(Disbursement.order_no)
                                         .where(Disbursement.request_id == row.request_id))
            row.order_no = existing


def _make_payout(row_id: int, merchant_id: str, batch_no: str) -> str | None:
    """The row's payout stored INIT (its order number, to send), or None: already made, or refused."""
    try:
        with transaction():
            row = _lock(DisbursementBatchRow, DisbursementBatchRow.id == row_id)
            if row is None or row.order_no is not None or row.refused_reason is not None:
                return None
            existing = db.session.scalar(sa.select(Disbursement).where(Disbursement.request_id == row.request_id))
            if existing is not None:  # made by a run that stopped before linking; the poller sends an INIT one
                row.order_no = existing.order_no
                return None
            req = DisbursementRequest(request_id=row.request_id, merchant_id=merchant_id,
                                      bank_account_no=crypto.decrypt(row.account_no_enc),
                                      bank_account_name=row.account_name, bank_code=row.bank_code,
                                      amount=row.amount, purpose=row.purpose)
            try:
                d = insert_order(SYSTEM, req, req.fingerprint(), now_utc(), source=PayoutSource.BATCH)
            except ValidationFailed as exc:
                row.refused_reason = exc.message[:500]
                audit.record(SYSTEM, "disbursement_batch.row_refused", "disbursement_batch", batch_no, None,
                             {"row": row.row_no, "reason": row.refused_reason})
                return None
            row.order_no = d.order_no
            return d.order_no
    except IntegrityError:  # a concurrent run inserted the same request id first
        discard()
        _link_existing(row_id)
        return None


def run(batch_no: str) -> dict[str, int]:
    """Pay every row of a RUNNING batch that has no payout yet; then complete it if every row is final."""
    with transaction():
        batch = db.session.scalar(sa.select(DisbursementBatch).where(DisbursementBatch.batch_no == batch_no))
        if batch is None or batch.status != BatchStatus.RUNNING:
            return {"sent": 0, "skipped": 1}
        merchant_id = db.session.get_one(Merchant, batch.merchant_id).merchant_id
        todo = list(db.session.scalars(sa.select(DisbursementBatchRow.id).where(
            DisbursementBatchRow.batch_id == batch.id, DisbursementBatchRow.order_no.is_(None),
            DisbursementBatchRow.refused_reason.is_(None)).order_by(DisbursementBatchRow.row_no)))
        batch_id = batch.id
    sent = 0
    for row_id in todo:
        order_no = _make_payout(row_id, merchant_id, batch_no)
        if order_no is not None:
            send(order_no)
            sent += 1
    with transaction():
        complete_if_done(batch_id, SYSTEM)
    return {"sent": sent, "skipped": 0}


def complete_if_done(batch_id: int, actor: Actor, now: datetime | None = None) -> bool:
    """In the caller's transaction: mark a RUNNING batch COMPLETED once every row is final."""
    batch = _lock(DisbursementBatch, DisbursementBatch.id == batch_id)
    if batch is None or batch.status != BatchStatus.RUNNING or batch_progress.has_open_rows(batch_id):
        return False
    p = batch_progress.progress(batch_id)
    if not p.complete:
        return False
    now = now or now_utc()
    batch.status, batch.completed_at = BatchStatus.COMPLETED, now
    S, F = batch_progress.SUCCESS, batch_progress.FAILED
    merchant = db.session.get_one(Merchant, batch.merchant_id)
    payload = {"batchNo": batch.batch_no, "merchantId": merchant.merchant_id, "total": p.total,
               "succeeded": p.counts[S], "failed": p.counts[F], "totalAmount": money_str(batch.total_amount),
               "succeededAmount": money_str(p.amounts[S]), "failedAmount": money_str(p.amounts[F]),
               "completedAt": to_shanghai_iso(now)}
    audit.record(actor, "disbursement_batch.complete", "disbursement_batch", batch.batch_no,
                 {"status": BatchStatus.RUNNING}, {"status": BatchStatus.COMPLETED, "succeeded": p.counts[S],
                                                    "failed": p.counts[F]})
    outbox.emit(EventType.DISBURSEMENT_BATCH_COMPLETED, "disbursement_batch", batch.batch_no, payload)
    return True


def on_payout_final(d: Disbursement, actor: Actor) -> None:
    """A batch payout became final (payouts/final_state.finish, same transaction): the batch may be done."""
    db.session.flush()  # the payout's new status, for the count below
    batch_id = db.session.scalar(sa.select(DisbursementBatchRow.batch_id)
                                 .where(DisbursementBatchRow.order_no == d.order_no))
    if batch_id is not None:
        complete_if_done(batch_id, actor)


def resume_stalled(now: datetime | None = None) -> int:
    """Queue again the run of RUNNING batches approved a while ago that still have rows with no payout
    (their job was lost: Redis down at approval, a worker killed); idempotent, so a run still going
    does no harm."""
    now = now or now_utc()
    with transaction():
        stalled = list(db.session.scalars(sa.select(DisbursementBatch.batch_no).where(
            DisbursementBatch.status == BatchStatus.RUNNING, DisbursementBatch.decided_at < now - STALLED_AFTER,
            sa.exists().where(DisbursementBatchRow.batch_id == DisbursementBatch.id,
                              DisbursementBatchRow.order_no.is_(None),
                              DisbursementBatchRow.refused_reason.is_(None)))))
    for batch_no in stalled:
        batch_dispatch.enqueue(batch_no)
    return len(stalled)
