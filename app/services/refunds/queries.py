"""Read side of the finance refunds screen (``/finance/refunds``): refunds with filters and their parts.
Changes (retrying a failed part) go through ``refunds.retry_part``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ...domain.enums import RefundOrderStatus, TransactionStatus, TransactionType
from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction, Refund, Reseller
from ..platform.day_range import on_shanghai_days
from ..platform.paging import Page
from .part_settlement import LIVE_PART

STATUSES = tuple(RefundOrderStatus)
PAGE_SIZE = 20
ZERO = Decimal("0.00")


@dataclass
class RefundFilter:
    status: str | None = None
    refund_order_id: str | None = None
    payment_id: str | None = None
    created_from: date | None = None
    created_to: date | None = None


@dataclass(frozen=True)
class PartRow:
    txn: PaymentTransaction
    original_transaction_id: str | None
    retryable: bool

    @property
    def amount(self) -> Decimal:
        return -self.txn.amount


@dataclass
class RefundRow:
    refund: Refund
    payment_id: str
    order_id: str
    reseller_code: str
    reseller_name: str
    parts: list[PartRow] = field(default_factory=list)

    @property
    def failed_parts(self) -> int:
        return sum(1 for p in self.parts if p.txn.status == TransactionStatus.FAILED)


def _conditions(f: RefundFilter) -> list:
    c = []
    if f.status in STATUSES:
        c.append(Refund.status == f.status)
    if f.refund_order_id:
        c.append(Refund.refund_order_id == f.refund_order_id.strip())
    if f.payment_id:
        c.append(PaymentOrder.payment_id == f.payment_id.strip())
    c.extend(on_shanghai_days(Refund.created_at, f.created_from, f.created_to))
    return c


def _base() -> sa.Select:
    return (sa.select(Refund, PaymentOrder.payment_id, PaymentOrder.order_id, Reseller.code, Reseller.name)
            .join(PaymentOrder, PaymentOrder.id == Refund.payment_order_id)
            .join(Reseller, Reseller.id == PaymentOrder.reseller_id))


def _with_parts(result: Iterable[sa.Row]) -> list[RefundRow]:
    rows = [RefundRow(refund, payment_id, order_id, code, name) for refund, payment_id, order_id, code, name in result]
    by_pk = {r.refund.id: r for r in rows}
    if not by_pk:
        return rows
    original = aliased(PaymentTransaction)
    parts = db.session.execute(
        sa.select(PaymentTransaction, original.transaction_id)
        .outerjoin(original, original.id == PaymentTransaction.original_transaction_id)
        .where(PaymentTransaction.refund_id.in_(by_pk), PaymentTransaction.transaction_type == TransactionType.REFUND)
        .order_by(PaymentTransaction.id)).all()
    grouped: dict[int, list] = {}
    for txn, orig_no in parts:
        assert txn.refund_id is not None  # selected by it
        grouped.setdefault(txn.refund_id, []).append((txn, orig_no))
    for refund_pk, items in grouped.items():
        row = by_pk[refund_pk]
        # What is succeeded or still in flight; a failed part can be retried while the refund has room for it.
        live = -sum((t.amount for t, _ in items if t.status in LIVE_PART), ZERO)
        for txn, orig_no in items:
            retryable = txn.status == TransactionStatus.FAILED and live + (-txn.amount) <= row.refund.amount
            row.parts.append(PartRow(txn, orig_no, retryable))
    return rows


def list_refunds(f: RefundFilter, page: int = 1, page_size: int = PAGE_SIZE) -> Page:
    """Newest first."""
    page = max(page, 1)
    conds = _conditions(f)
    result = db.session.execute(_base().where(*conds).order_by(Refund.created_at.desc(), Refund.id.desc())
                                .limit(page_size).offset((page - 1) * page_size)).all()
    total = db.session.scalar(sa.select(sa.func.count(Refund.id))
                              .join(PaymentOrder, PaymentOrder.id == Refund.payment_order_id).where(*conds)) or 0
    return Page(_with_parts(result), page, page_size, total)


def refund_row(refund_id: str) -> RefundRow | None:
    rows = _with_parts(db.session.execute(_base().where(Refund.refund_id == refund_id)).all())
    return rows[0] if rows else None


def refund_part(transaction_id: str) -> tuple[int, str] | None:
    """(pk, refund id) of a refund part, by its transaction id."""
    row = db.session.execute(
        sa.select(PaymentTransaction.id, Refund.refund_id)
        .join(Refund, Refund.id == PaymentTransaction.refund_id)
        .where(PaymentTransaction.transaction_id == transaction_id,
               PaymentTransaction.transaction_type == TransactionType.REFUND)).first()
    return (row[0], row[1]) if row else None


def refunds_with_failures() -> int:
    """Refunds FAILED or PARTIALLY_FAILED (for the screen's heading)."""
    return db.session.scalar(sa.select(sa.func.count(Refund.id)).where(
        Refund.status.in_((RefundOrderStatus.FAILED, RefundOrderStatus.PARTIALLY_FAILED)))) or 0
