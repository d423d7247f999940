"""The filtered list of every transaction (payments and refunds, every reseller) and the totals of the
filtered set. Each filter is a condition on ``transactions`` or an indexed look-up of one row (reseller,
merged payment); the page is ordered by (created_at, id), newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import TransactionStatus, TransactionType
from ...domain.timeutil import shanghai_day_bounds
from ...extensions import db
from ...models import Channel, ChannelPayment, MergedPayment, PaymentOrder, PaymentTransaction, Reseller
from ..platform.paging import Page
from ..statements.owed import money

PAGE_SIZE = 50


@dataclass
class TransactionFilter:
    channel: str | None = None
    kind: str | None = None  # PAYMENT | REFUND
    status: str | None = None
    reseller_code: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    completed_from: date | None = None
    completed_to: date | None = None
    min_amount: Decimal | None = None  # on the amount as a positive number (a refund is stored negative)
    max_amount: Decimal | None = None
    reference: str | None = None  # a bank serial / channel transaction id, or our transaction id
    merged_payment_id: str | None = None


@dataclass(frozen=True)
class Row:
    txn: PaymentTransaction
    payment_id: str
    reseller_code: str
    merged_payment_id: str | None
    channel_payment_id: str | None

    @property
    def amount(self) -> Decimal:
        return abs(self.txn.amount)


@dataclass(frozen=True)
class Totals:
    count: int
    received: Decimal  # successful payments
    refunded: Decimal  # successful refunds, positive
    in_flight: Decimal  # PROCESSING, either kind, positive

    @property
    def net(self) -> Decimal:
        return self.received - self.refunded


def _size() -> sa.ColumnElement[Decimal]:
    t = PaymentTransaction
    return sa.case((t.transaction_type == TransactionType.REFUND, -t.amount), else_=t.amount)


def conditions(f: TransactionFilter) -> list[sa.ColumnElement[bool]]:
    t = PaymentTransaction
    c: list[sa.ColumnElement[bool]] = []
    if f.channel:
        c.append(t.channel_code == f.channel)
    if f.kind:
        c.append(t.transaction_type == f.kind)
    if f.status:
        c.append(t.status == f.status)
    if f.reseller_code:
        c.append(t.reseller_id == sa.select(Reseller.id).where(Reseller.code == f.reseller_code).scalar_subquery())
    if f.created_from:
        c.append(t.created_at >= shanghai_day_bounds(f.created_from)[0])
    if f.created_to:
        c.append(t.created_at < shanghai_day_bounds(f.created_to)[1])
    if f.completed_from:
        c.append(t.completed_at >= shanghai_day_bounds(f.completed_from)[0])
    if f.completed_to:
        c.append(t.completed_at < shanghai_day_bounds(f.completed_to)[1])
    if f.min_amount is not None:
        c.append(_size() >= f.min_amount)
    if f.max_amount is not None:
        c.append(_size() <= f.max_amount)
    if f.reference:
        c.append(sa.or_(t.channel_transaction_id == f.reference, t.transaction_id == f.reference,
                        t.channel_payment_id == sa.select(ChannelPayment.id)
                        .where(ChannelPayment.wire_reference == f.reference).scalar_subquery()))
    if f.merged_payment_id:
        c.append(t.merged_payment_id == sa.select(MergedPayment.id)
                 .where(MergedPayment.merged_payment_id == f.merged_payment_id).scalar_subquery())
    return c


def search(f: TransactionFilter, page: int = 1, page_size: int = PAGE_SIZE) -> Page:
    t = PaymentTransaction
    conds = conditions(f)
    rows = db.session.execute(
        sa.select(t, PaymentOrder.payment_id, Reseller.code, MergedPayment.merged_payment_id,
                  ChannelPayment.channel_payment_id)
        .join(PaymentOrder, PaymentOrder.id == t.payment_order_id)
        .join(Reseller, Reseller.id == t.reseller_id)
        .outerjoin(MergedPayment, MergedPayment.id == t.merged_payment_id)
        .outerjoin(ChannelPayment, ChannelPayment.id == t.channel_payment_id)
        .where(*conds).order_by(t.created_at.desc(), t.id.desc())
        .limit(page_size).offset((page - 1) * page_size)).all()
    count = db.session.scalar(sa.select(sa.func.count(t.id)).where(*conds)) or 0
    return Page([Row(*r) for r in rows], page, page_size, count)


def totals(f: TransactionFilter) -> Totals:
    t = PaymentTransaction
    ok = t.status == TransactionStatus.SUCCESS
    row = db.session.execute(sa.select(
        sa.func.count(t.id),
        sa.func.sum(sa.case((sa.and_(ok, t.transaction_type == TransactionType.PAYMENT), t.amount), else_=0)),
        sa.func.sum(sa.case((sa.and_(ok, t.transaction_type == TransactionType.REFUND), -t.amount), else_=0)),
        sa.func.sum(sa.case((t.status == TransactionStatus.PROCESSING, _size()), else_=0)),
    ).where(*conditions(f))).one()
    return Totals(int(row[0] or 0), money(row[1]), money(row[2]), money(row[3]))


def channels() -> list[str]:
    """Every configured channel's code (the filter's choices)."""
    return list(db.session.scalars(sa.select(Channel.code).order_by(Channel.sort_order, Channel.code)))

