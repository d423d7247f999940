"""Read side of disbursement batches for the finance screen (``/finance/disbursements``): the recent
batches, one batch with its rows and progress, and its two files — the result file (every row with
its outcome; account numbers masked) and the failed rows in the upload format (``batch_file.COLUMNS``,
full account numbers, so the file can be corrected and uploaded again; finance only, audited by the view)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ...extensions import db
from ...models import DisbursementBatch, DisbursementBatchRow, Merchant
from ..platform import crypto, spreadsheet
from . import batch_progress
from .batch_progress import Progress, RowState


@dataclass(frozen=True)
class BatchSummary:
    batch_no: str
    merchant_id: str
    merchant_name: str
    status: str
    file_name: str
    row_count: int
    total_amount: Decimal
    uploaded_by_user_id: int
    uploaded_by: str
    decided_by: str | None
    reject_reason: str | None
    resubmitted_from: str | None
    created_at: datetime
    completed_at: datetime | None
    id: int


@dataclass(frozen=True)
class BatchView:
    batch: BatchSummary
    progress: Progress
    rows: list[RowState]


_COLUMNS = (DisbursementBatch.batch_no, Merchant.merchant_id, Merchant.name, DisbursementBatch.status,
            DisbursementBatch.file_name, DisbursementBatch.row_count, DisbursementBatch.total_amount,
            DisbursementBatch.uploaded_by_user_id, DisbursementBatch.uploaded_by, DisbursementBatch.decided_by,
            DisbursementBatch.reject_reason, DisbursementBatch.resubmitted_from, DisbursementBatch.created_at,
            DisbursementBatch.completed_at, DisbursementBatch.id)


def _select() -> sa.Select:
    return sa.select(*_COLUMNS).join(Merchant, Merchant.id == DisbursementBatch.merchant_id)


def recent(limit: int = 20) -> list[BatchSummary]:
    return [BatchSummary(*r) for r in db.session.execute(
        _select().order_by(DisbursementBatch.created_at.desc(), DisbursementBatch.id.desc()).limit(limit)).all()]


def summary(batch_no: str) -> BatchSummary | None:
    r = db.session.execute(_select().where(DisbursementBatch.batch_no == batch_no)).first()
    return BatchSummary(*r) if r else None


def view(batch_no: str) -> BatchView | None:
    s = summary(batch_no)
    if s is None:
        return None
    return BatchView(s, batch_progress.progress(s.id), batch_progress.rows(s.id))


def active_merchants() -> list[tuple[str, str]]:
    """(merchant id, name) of active payout merchants, the first being the form's default."""
    return [(m, n) for m, n in db.session.execute(sa.select(Merchant.merchant_id, Merchant.name)
                                                  .where(Merchant.active.is_(True))
                                                  .order_by(Merchant.merchant_id)).all()]


def _safe(value: object) -> str:
    text = "" if value is None else f"{value:.2f}" if isinstance(value, Decimal) else str(value)
    return spreadsheet.safe_text(text)


def _csv(header: list[str], rows: Iterable[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


RESULT_HEADER = ["row", "bankAccountName", "bankAccountNo", "bankCode", "amount", "purpose", "status", "orderNo",
                 "bankSerialNo", "failReason"]


def result_csv(batch_id: int) -> bytes:
    """Every row and its outcome (the account number masked)."""
    return _csv(RESULT_HEADER, ([r.row_no, r.account_name, r.account_masked, r.bank_code, r.amount, r.purpose,
                                 r.state, r.order_no, r.bank_serial_no, r.fail_reason]
                                for r in batch_progress.rows(batch_id)))


def failed_csv(batch_id: int) -> tuple[bytes, int]:
    """The failed rows in the upload format, ready to correct and upload again; and how many."""
    failed = set(batch_progress.failed_row_nos(batch_id))
    rows = db.session.scalars(sa.select(DisbursementBatchRow).where(
        DisbursementBatchRow.batch_id == batch_id, DisbursementBatchRow.row_no.in_(failed))
        .order_by(DisbursementBatchRow.row_no)).all() if failed else []
    body = _csv(["bankAccountName", "bankAccountNo", "bankCode", "amount", "purpose"],
                ([r.account_name, crypto.decrypt(r.account_no_enc), r.bank_code, r.amount, r.purpose] for r in rows))
    return body, len(rows)


def template_csv() -> bytes:
    """The empty upload file with the Chinese headings (the screen offers it)."""
    return _csv(["收款人", "收款账号", "银行代码", "金额", "用途"], [])
