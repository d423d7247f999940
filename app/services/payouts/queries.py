"""Read side of the finance disbursements screen (``/finance/disbursements``): payouts with filters and
the MANUAL queue. Rows carry only the masked account number (the encrypted one is never selected).
Settling a MANUAL order goes through ``payouts/manual.settle_manual``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import DisbursementStatus
from ...extensions import db
from ...models import Disbursement, Merchant
from ..platform.day_range import on_shanghai_days
from ..platform.paging import Page

STATUSES = tuple(DisbursementStatus)
PAGE_SIZE = 20


@dataclass
class PayoutFilter:
    status: str | None = None
    merchant_id: str | None = None
    request_id: str | None = None
    created_from: date | None = None
    created_to: date | None = None


@dataclass(frozen=True)
class PayoutRow:
    order_no: str
    request_id: str
    merchant_id: str
    merchant_name: str
    account_masked: str
    account_name: str
    bank_code: str
    amount: Decimal
    purpose: str
    source: str
    status: str
    bank_serial_no: str | None
    fail_reason: str | None
    poll_attempts: int
    created_at: datetime
    completed_at: datetime | None


_COLUMNS = (Disbursement.order_no, Disbursement.request_id, Merchant.merchant_id, Merchant.name,
            Disbursement.account_no_masked, Disbursement.account_name, Disbursement.bank_code, Disbursement.amount,
            Disbursement.purpose, Disbursement.source, Disbursement.status, Disbursement.bank_serial_no,
            Disbursement.fail_reason, Disbursement.poll_attempts, Disbursement.created_at, Disbursement.completed_at)


def _select() -> sa.Select:
    return sa.select(*_COLUMNS).join(Merchant, Merchant.id == Disbursement.merchant_id)


def _conditions(f: PayoutFilter) -> list:
    c = []
    if f.status in STATUSES:
        c.append(Disbursement.status == f.status)
    if f.merchant_id:
        c.append(Merchant.merchant_id == f.merchant_id.strip())
    if f.request_id:
        c.append(Disbursement.request_id == f.request_id.strip())
    c.extend(on_shanghai_days(Disbursement.created_at, f.created_from, f.created_to))
    return c


def list_payouts(f: PayoutFilter, page: int = 1, page_size: int = PAGE_SIZE) -> Page:
    """Newest first."""
    page = max(page, 1)
    conds = _conditions(f)
    rows = db.session.execute(_select().where(*conds)
                              .order_by(Disbursement.created_at.desc(), Disbursement.id.desc())
                              .limit(page_size).offset((page - 1) * page_size)).all()
    total = db.session.scalar(sa.select(sa.func.count(Disbursement.id))
                              .join(Merchant, Merchant.id == Disbursement.merchant_id).where(*conds)) or 0
    return Page([PayoutRow(*r) for r in rows], page, page_size, total)


def manual_queue(limit: int = 100) -> list[PayoutRow]:
    """Orders parked as MANUAL, oldest first: finance settles them from the bank statement."""
    rows = db.session.execute(_select().where(Disbursement.status == DisbursementStatus.MANUAL)
                              .order_by(Disbursement.created_at, Disbursement.id).limit(limit)).all()
    return [PayoutRow(*r) for r in rows]


def manual_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Disbursement.id))
                             .where(Disbursement.status == DisbursementStatus.MANUAL)) or 0


def payout_row(order_no: str) -> PayoutRow | None:
    row = db.session.execute(_select().where(Disbursement.order_no == order_no)).first()
    return PayoutRow(*row) if row else None


def merchants() -> list[tuple[str, str]]:
    """(merchant id, name) for the filter."""
    return [(merchant_id, name) for merchant_id, name in db.session.execute(
        sa.select(Merchant.merchant_id, Merchant.name).order_by(Merchant.merchant_id)).all()]
