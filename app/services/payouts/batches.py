"""Disbursement batches (批量付款, docs/DOMAIN.md §9) from upload to approval, with maker-checker.

``upload`` reads and checks the whole file (``batch_file``, ``batch_rows``); a file with any problem
stores nothing (``BatchRefused`` carries every problem). A clean file is stored as a DRAFT batch for
the uploader to preview (count and total) and ``submit`` (PENDING). A second finance user, never the
uploader (``SameUser``), ``approve``s it — the batch turns RUNNING exactly once, however many approvals
race (a conditional UPDATE: the loser gets ``StateConflict``), and its run is queued after the commit
(``batch_run``) — or ``reject``s it with a reason. ``resubmit`` makes a new DRAFT batch of a completed
batch's failed rows. Every step is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ...domain import numbers
from ...domain.enums import BatchStatus
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...domain.money import money_str
from ...extensions import db
from ...models import DisbursementBatch, DisbursementBatchRow, Merchant
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import crypto
from ..platform.actor import Actor
from ..platform.unit_of_work import rows_changed, transaction
from . import batch_dispatch, batch_file, batch_progress, batch_rows
from .batch_rows import PayeeRow, RowProblem
from .merchants import lock_merchant
from .request import BATCH_REQUEST_PREFIX


class BatchRefused(ValidationFailed):
    """The file cannot be stored: a file-level refusal (``file_problem``) or row problems."""

    def __init__(self, problems: list[RowProblem] | None = None,
                 file_problem: batch_file.BatchFileRefused | None = None) -> None:
        self.problems = problems or []
        self.file_problem = file_problem
        super().__init__(file_problem.code if file_problem else f"{len(self.problems)} row problems", field="file")


class SameUser(StateConflict):
    """The finance user who uploaded the batch tried to approve or reject it."""


@dataclass(frozen=True)
class Preview:
    batch_no: str
    count: int
    total: Decimal


def request_id(batch_no: str, row_no: int) -> str:
    """The payout request id of a batch row: the same on every run, so a retry never pays twice."""
    return f"{BATCH_REQUEST_PREFIX}{batch_no}:{row_no}"


def check_file(merchant_id: str, data: bytes) -> batch_rows.CheckedFile:
    """Read and check the file against the merchant's single limit; BatchRefused on any problem."""
    with transaction():
        merchant = lock_merchant(merchant_id)
        single_limit = merchant.single_limit
    try:
        raw = batch_file.read(data)
    except batch_file.BatchFileRefused as exc:
        raise BatchRefused(file_problem=exc) from None
    checked = batch_rows.check(raw, single_limit)
    if checked.problems:
        raise BatchRefused(checked.problems)
    return checked


def _store(actor: Actor, user_id: int, merchant_id: str, file_name: str, rows: list[PayeeRow],
           resubmitted_from: str | None = None) -> DisbursementBatch:
    merchant = lock_merchant(merchant_id)
    total = sum((r.amount for r in rows), Decimal("0.00"))
    batch = DisbursementBatch(batch_no=numbers.batch_no(), merchant_id=merchant.id, status=BatchStatus.DRAFT,
                              file_name=file_name[:200], row_count=len(rows), total_amount=total,
                              uploaded_by_user_id=user_id, uploaded_by=actor.label,
                              resubmitted_from=resubmitted_from, created_at=now_utc())
    db.session.add(batch)
    db.session.flush()
    db.session.add_all([DisbursementBatchRow(
        batch_id=batch.id, row_no=r.row_no, account_name=r.account_name, account_no_enc=crypto.encrypt(r.account_no),
        account_no_masked=crypto.mask_account(r.account_no), bank_code=r.bank_code, amount=r.amount,
        purpose=r.purpose, request_id=request_id(batch.batch_no, r.row_no)) for r in rows])
    audit.record(actor, "disbursement_batch.upload", "disbursement_batch", batch.batch_no, None,
                 {"merchantId": merchant_id, "rows": len(rows), "total": money_str(total), "file": file_name[:200],
                  "resubmittedFrom": resubmitted_from})
    return batch


def upload(actor: Actor, user_id: int, merchant_id: str, file_name: str, data: bytes) -> Preview:
    """Check the whole file and store it as a DRAFT batch; BatchRefused (nothing stored) otherwise."""
    checked = check_file(merchant_id, data)
    with transaction():
        batch = _store(actor, user_id, merchant_id, file_name, checked.rows)
        return Preview(batch.batch_no, batch.row_count, batch.total_amount)


def lock_batch(batch_no: str) -> DisbursementBatch:
    stmt = sa.select(DisbursementBatch).where(DisbursementBatch.batch_no == batch_no)
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    batch = db.session.scalar(stmt)
    if batch is None:
        raise NotFound("no such batch")
    db.session.refresh(batch)
    return batch


def submit(actor: Actor, user_id: int, batch_no: str) -> None:
    """The uploader sends a DRAFT batch for approval."""
    with transaction():
        batch = lock_batch(batch_no)
        if batch.status != BatchStatus.DRAFT:
            raise StateConflict(f"this batch is already {batch.status.lower()}")
        if batch.uploaded_by_user_id != user_id:
            raise StateConflict("only the user who uploaded the batch submits it")
        batch.status, batch.submitted_at = BatchStatus.PENDING, now_utc()
        audit.record(actor, "disbursement_batch.submit", "disbursement_batch", batch_no,
                     {"status": BatchStatus.DRAFT}, {"status": BatchStatus.PENDING})


def _decide(actor: Actor, user_id: int, batch_no: str, status: BatchStatus, reason: str | None) -> None:
    batch = db.session.scalar(sa.select(DisbursementBatch).where(DisbursementBatch.batch_no == batch_no))
    if batch is None:
        raise NotFound("no such batch")
    if batch.uploaded_by_user_id == user_id:
        raise SameUser("a second finance user must approve or reject a batch you uploaded")
    now = now_utc()
    # One decision, however many race: only the UPDATE that still finds the batch PENDING wins.
    won = rows_changed(sa.update(DisbursementBatch).where(
        DisbursementBatch.id == batch.id, DisbursementBatch.status == BatchStatus.PENDING).values(
        status=status, decided_by_user_id=user_id, decided_by=actor.label, decided_at=now, reject_reason=reason))
    if won != 1:
        db.session.refresh(batch)
        raise StateConflict(f"this batch is already {batch.status.lower()}")
    audit.record(actor, "disbursement_batch.approve" if status == BatchStatus.RUNNING else "disbursement_batch.reject",
                 "disbursement_batch", batch_no, {"status": BatchStatus.PENDING},
                 {"status": status, "reason": reason, "rows": batch.row_count,
                  "total": money_str(batch.total_amount)})


def approve(actor: Actor, user_id: int, batch_no: str) -> None:
    """A second finance user approves: the batch runs (queued on ``low`` once this commits)."""
    with transaction():
        _decide(actor, user_id, batch_no, BatchStatus.RUNNING, None)
        batch_dispatch.after_commit(batch_no)


def reject(actor: Actor, user_id: int, batch_no: str, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("give a reason", field="reason")
    with transaction():
        _decide(actor, user_id, batch_no, BatchStatus.REJECTED, reason[:500])


def resubmit_failed(actor: Actor, user_id: int, batch_no: str) -> Preview:
    """A new DRAFT batch of the failed rows of a completed batch (numbered 1.. again)."""
    with transaction():
        batch = lock_batch(batch_no)
        if batch.status != BatchStatus.COMPLETED:
            raise StateConflict("only a completed batch's failed rows can be submitted again")
        failed_row_nos = batch_progress.failed_row_nos(batch.id)
        if not failed_row_nos:
            raise StateConflict("this batch has no failed rows")
        old = db.session.scalars(sa.select(DisbursementBatchRow).where(
            DisbursementBatchRow.batch_id == batch.id, DisbursementBatchRow.row_no.in_(failed_row_nos))
            .order_by(DisbursementBatchRow.row_no)).all()
        rows = [PayeeRow(i, r.account_name, crypto.decrypt(r.account_no_enc), r.bank_code, r.amount, r.purpose)
                for i, r in enumerate(old, start=1)]
        merchant_id = db.session.get_one(Merchant, batch.merchant_id).merchant_id
        new = _store(actor, user_id, merchant_id, f"{batch_no}-failed", rows, resubmitted_from=batch_no)
        return Preview(new.batch_no, new.row_count, new.total_amount)
