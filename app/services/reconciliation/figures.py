"""Money figures of successful transactions completed in a time window (docs/DOMAIN.md §8): paid
(PAYMENT), refunded (REFUND, as a positive amount), net, and their counts, grouped by any of payment
type, channel and reseller. A transaction counts on the day it became final. Sums are taken in
whole cents, exact on SQLite too (which keeps NUMERIC as binary floats)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from ...domain.enums import TransactionStatus, TransactionType
from ...domain.money import ZERO
from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction, Reseller
from ..statements.owed import completed_at

CENT = Decimal("0.01")

#: The groupings the finance API offers, by their API names.
GROUPS: dict[str, InstrumentedAttribute[Any]] = {
    "paymentType": PaymentOrder.payment_type,
    "channel": PaymentTransaction.channel_code,
    "reseller": Reseller.code,
}


def from_cents(value: Decimal | float | int | None) -> Decimal:
    return (Decimal(int(value or 0)) * CENT).quantize(CENT)


def cents_sum(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.func.round(column * 100)), 0)


@dataclass(frozen=True)
class Figures:
    keys: tuple
    paid: Decimal
    paid_count: int
    refunded: Decimal
    refunded_count: int

    @property
    def net(self) -> Decimal:
        return self.paid - self.refunded

    def view(self) -> dict:
        return {"paymentAmount": f"{self.paid:.2f}", "refundAmount": f"{self.refunded:.2f}",
                "netAmount": f"{self.net:.2f}", "paymentCount": self.paid_count, "refundCount": self.refunded_count}


ZERO_FIGURES = Figures((), ZERO, 0, ZERO, 0)


def _window(start: datetime, end: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    """Successful and final in [start, end): ``completed_at()`` in the window, written as
    ``completed_at`` in it OR (``completed_at`` IS NULL AND ``created_at`` in it) so that each side
    reads an index range of ``ix_transactions_completed`` (as the finance dashboard does) rather than
    every transaction."""
    t = PaymentTransaction
    return (t.status == TransactionStatus.SUCCESS,
            sa.or_(sa.and_(t.completed_at >= start, t.completed_at < end),
                   sa.and_(t.completed_at.is_(None), t.created_at >= start, t.created_at < end)))


def figures(start: datetime, end: datetime, group: list[InstrumentedAttribute[Any]]) -> list[Figures]:
    t = PaymentTransaction
    is_payment = t.transaction_type == TransactionType.PAYMENT
    is_refund = t.transaction_type == TransactionType.REFUND
    query = (sa.select(*group,
                       cents_sum(sa.case((is_payment, t.amount), else_=0)),
                       sa.func.sum(sa.case((is_payment, 1), else_=0)),
                       cents_sum(sa.case((is_refund, -t.amount), else_=0)),
                       sa.func.sum(sa.case((is_refund, 1), else_=0)))
             .select_from(t).join(PaymentOrder, PaymentOrder.id == t.payment_order_id)
             .join(Reseller, Reseller.id == t.reseller_id)
             .where(*_window(start, end)))
    if group:
        query = query.group_by(*group).order_by(*group)
    out = []
    for row in db.session.execute(query).all():
        keys, (paid, n_paid, refunded, n_refunded) = tuple(row[:len(group)]), row[len(group):]
        if not group and not n_paid and not n_refunded:
            continue
        out.append(Figures(keys, from_cents(paid), int(n_paid or 0), from_cents(refunded), int(n_refunded or 0)))
    return out


def total(start: datetime, end: datetime) -> Figures:
    rows = figures(start, end, [])
    return rows[0] if rows else ZERO_FIGURES


def details(start: datetime, end: datetime, page: int, size: int) -> tuple[list, int]:
    """The window's successful transactions, oldest first: (rows of (transaction, order, reseller code), total)."""
    t = PaymentTransaction
    base = (sa.select(t, PaymentOrder.payment_id, PaymentOrder.payment_type, Reseller.code)
            .join(PaymentOrder, PaymentOrder.id == t.payment_order_id).join(Reseller, Reseller.id == t.reseller_id)
            .where(*_window(start, end)))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(t).where(*_window(start, end))) or 0
    rows = db.session.execute(base.order_by(completed_at(), t.id).offset((page - 1) * size).limit(size)).all()
    return list(rows), int(count)
