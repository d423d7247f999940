"""Read side of a reseller's wallet and credit line for the portal (``/wallet``, ``/credit``). Every
function takes the signed-in reseller's id and reads only that company's rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import (
    CreditLineStatus,
    CreditRecordStatus,
    PaymentType,
    ResellerStatus,
    WalletChangeStatus,
    WalletEntryType,
)
from ...domain.timeutil import shanghai_today
from ...extensions import db
from ...models import CreditRecord, PaymentOrder, Reseller, WalletChange, WalletEntry
from ..platform.paging import Page
from .credit_line import available
from .credit_view import record_status

PAGE_SIZE = 20
WALLET_TYPES = tuple(WalletEntryType)
# In the order the filter shows them.
RECORD_STATUSES = (CreditRecordStatus.OPEN, CreditRecordStatus.OVERDUE, CreditRecordStatus.REPAID)


def _page(page: int) -> int:
    return max(page, 1)


# --- wallet --------------------------------------------------------------------------------------

def wallet_balance(reseller_id: int) -> Decimal:
    return db.session.scalars(sa.select(Reseller.wallet_balance).where(Reseller.id == reseller_id)).one()


def wallet_entries(reseller_id: int, page: int = 1, entry_type: str | None = None,
                   page_size: int = PAGE_SIZE) -> Page:
    """Newest first."""
    page = _page(page)
    conds = [WalletEntry.reseller_id == reseller_id]
    if entry_type:
        conds.append(WalletEntry.entry_type == entry_type)
    rows = db.session.scalars(sa.select(WalletEntry).where(*conds)
                              .order_by(WalletEntry.created_at.desc(), WalletEntry.id.desc())
                              .limit(page_size).offset((page - 1) * page_size)).all()
    total = db.session.scalar(sa.select(sa.func.count(WalletEntry.id)).where(*conds)) or 0
    return Page(list(rows), page, page_size, total)


def wallet_totals(reseller_id: int) -> dict:
    """Money in and out over the whole ledger."""
    row = db.session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(sa.case((WalletEntry.amount > 0, WalletEntry.amount), else_=0)), 0),
        sa.func.coalesce(sa.func.sum(sa.case((WalletEntry.amount < 0, WalletEntry.amount), else_=0)), 0),
    ).where(WalletEntry.reseller_id == reseller_id)).one()
    return {"in": Decimal(row[0]).quantize(Decimal("0.01")), "out": Decimal(-row[1]).quantize(Decimal("0.01"))}


# --- credit --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreditSummary:
    limit: Decimal
    used: Decimal
    available: Decimal
    term_days: int
    status: str  # CreditLineStatus
    outstanding: Decimal
    overdue: Decimal
    open_records: int


def credit_summary(reseller_id: int) -> CreditSummary:
    r = db.session.get_one(Reseller, reseller_id)
    today = shanghai_today()
    outstanding, overdue, count = db.session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(CreditRecord.outstanding_amount), 0),
        sa.func.coalesce(sa.func.sum(sa.case((CreditRecord.due_date < today, CreditRecord.outstanding_amount),
                                             else_=0)), 0),
        sa.func.count(CreditRecord.id),
    ).where(CreditRecord.reseller_id == reseller_id, CreditRecord.outstanding_amount > 0)).one()
    cent = Decimal("0.01")
    return CreditSummary(limit=r.credit_limit, used=r.credit_used, available=available(r),
                         term_days=r.credit_term_days,
                         status=r.credit_status if r.status == ResellerStatus.ACTIVE else CreditLineStatus.SUSPENDED,
                         outstanding=Decimal(outstanding).quantize(cent), overdue=Decimal(overdue).quantize(cent),
                         open_records=count)


@dataclass
class RecordRow:
    record: CreditRecord
    status: str  # CreditRecordStatus (OVERDUE computed from the due date)
    payment_id: str | None  # the order the credit paid
    repayments: list[PaymentOrder] = field(default_factory=list)


def _record_status_condition(status: str) -> sa.ColumnElement[bool]:
    today = shanghai_today()
    if status == CreditRecordStatus.REPAID:
        return CreditRecord.outstanding_amount <= 0
    if status == CreditRecordStatus.OVERDUE:
        return sa.and_(CreditRecord.outstanding_amount > 0, CreditRecord.due_date < today)
    return sa.and_(CreditRecord.outstanding_amount > 0, CreditRecord.due_date >= today)


def credit_records(reseller_id: int, page: int = 1, status: str | None = None,
                   page_size: int = PAGE_SIZE) -> Page:
    """Earliest due first; each with the repayment orders that repay it."""
    page = _page(page)
    conds = [CreditRecord.reseller_id == reseller_id]
    if status in RECORD_STATUSES:
        conds.append(_record_status_condition(status))
    result = db.session.execute(
        sa.select(CreditRecord, PaymentOrder.payment_id)
        .outerjoin(PaymentOrder, PaymentOrder.id == CreditRecord.payment_order_id)
        .where(*conds).order_by(CreditRecord.due_date, CreditRecord.id)
        .limit(page_size).offset((page - 1) * page_size)).all()
    total = db.session.scalar(sa.select(sa.func.count(CreditRecord.id)).where(*conds)) or 0
    rows = [RecordRow(rec, record_status(rec), payment_id) for rec, payment_id in result]
    by_id = {r.record.credit_record_id: r for r in rows}
    if by_id:
        for o in db.session.scalars(sa.select(PaymentOrder).where(
                PaymentOrder.reseller_id == reseller_id,
                PaymentOrder.payment_type == PaymentType.CREDIT_REPAYMENT.value,
                PaymentOrder.related_business_id.in_(by_id)).order_by(PaymentOrder.created_at, PaymentOrder.id)):
            by_id[o.related_business_id].repayments.append(o)
    return Page(rows, page, page_size, total)


def repayment_orders(reseller_id: int, page: int = 1, page_size: int = PAGE_SIZE) -> Page:
    """The reseller's CREDIT_REPAYMENT payment orders, newest first."""
    page = _page(page)
    conds = [PaymentOrder.reseller_id == reseller_id,
             PaymentOrder.payment_type == PaymentType.CREDIT_REPAYMENT.value]
    rows = db.session.scalars(sa.select(PaymentOrder).where(*conds)
                              .order_by(PaymentOrder.created_at.desc(), PaymentOrder.id.desc())
                              .limit(page_size).offset((page - 1) * page_size)).all()
    total = db.session.scalar(sa.select(sa.func.count(PaymentOrder.id)).where(*conds)) or 0
    return Page(list(rows), page, page_size, total)


# --- the finance desk (every reseller) -----------------------------------------------------------

def wallet_overview() -> list[dict]:
    """Every reseller's wallet balance and approval threshold, with the number of changes waiting."""
    from_changes = (sa.select(WalletChange.reseller_id, sa.func.count(WalletChange.id).label("n"))
                    .where(WalletChange.status == WalletChangeStatus.PENDING)
                    .group_by(WalletChange.reseller_id).subquery())
    rows = db.session.execute(
        sa.select(Reseller, sa.func.coalesce(from_changes.c.n, 0))
        .outerjoin(from_changes, from_changes.c.reseller_id == Reseller.id).order_by(Reseller.code)).all()
    return [{"reseller": r, "pending": n} for r, n in rows]


def pending_changes(reseller_id: int | None = None) -> list[tuple[WalletChange, Reseller]]:
    conds = [WalletChange.status == WalletChangeStatus.PENDING]
    if reseller_id is not None:
        conds.append(WalletChange.reseller_id == reseller_id)
    query = (sa.select(WalletChange, Reseller).join(Reseller, Reseller.id == WalletChange.reseller_id)
             .where(*conds).order_by(WalletChange.created_at, WalletChange.id))
    return [(change, reseller) for change, reseller in db.session.execute(query)]


def recent_changes(reseller_id: int, limit: int = 20) -> list[WalletChange]:
    return list(db.session.scalars(sa.select(WalletChange).where(WalletChange.reseller_id == reseller_id)
                                   .order_by(WalletChange.created_at.desc(), WalletChange.id.desc()).limit(limit)))


def wallet_change(change_id: int) -> WalletChange | None:
    return db.session.get(WalletChange, change_id)
