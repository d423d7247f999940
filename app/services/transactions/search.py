"""The filtered list of every transaction (payments and refunds, every reseller) and the totals of the
filtered set. Each filter is a condition on ``transactions`` or an indexed look-up of one row (reseller,
merged payment); the page is ordered by (created_at, id), newest first.

How it stays fast on millions of rows (bench/finance_desk.py; each filter has an index: created and
completed ranges, channel, kind and status each with the list's order, reseller, amount, references):

* the page is an index scan in the list's order that stops after the page;
* the count stops at ``COUNT_CAP`` + 1 rows (``Totals.capped``: the screen says "10,000+" — a bounded
  count, never an exact one over millions);
* the sums are exact over the matching rows when there are at most ``COUNT_CAP`` of them; above that,
  when the filter is only channel / kind / status / completed days, received and refunded come from
  the day rows settlement keeps (``ledgers.money_flows``) and the in-flight sum from the PROCESSING
  rows (an index-only scan on PostgreSQL); any other broad filter shows no sums (``None``: the screen
  asks to narrow the filters) rather than scanning every row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import TransactionStatus, TransactionType
from ...domain.timeutil import shanghai_day_bounds
from ...extensions import db
from ...models import Channel, ChannelPayment, MergedPayment, PaymentOrder, PaymentTransaction, Reseller
from ...models.money_flow import MoneyFlowDay
from ..platform.day_range import on_shanghai_days
from ..platform.paging import Page
from ..statements.owed import money

PAGE_SIZE = 50
COUNT_CAP = 10_000


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
    count: int  # at most COUNT_CAP + 1: see ``capped``
    received: Decimal | None  # successful payments; None: too many rows to sum here
    refunded: Decimal | None  # successful refunds, positive
    in_flight: Decimal | None  # PROCESSING, either kind, positive
    capped: bool = False  # more than COUNT_CAP rows match: ``count`` is not the exact number
    from_day_totals: bool = False  # received and refunded come from the settled day rows

    @property
    def net(self) -> Decimal | None:
        if self.received is None or self.refunded is None:
            return None
        return self.received - self.refunded


def _size() -> sa.ColumnElement[Decimal]:
    t = PaymentTransaction
    return sa.case((t.transaction_type == TransactionType.REFUND, -t.amount), else_=t.amount)


def _size_between(low: Decimal | None, high: Decimal | None) -> sa.ColumnElement[bool]:
    """The size (a refund is stored negative) in [low, high], as ranges of the signed amount
    (``ix_transactions_amount``): a payment's amount in it, or a refund's in [-high, -low]."""
    a = PaymentTransaction.amount
    if low is not None and high is not None:
        return sa.or_(sa.and_(a >= low, a <= high), sa.and_(a >= -high, a <= -low))
    if low is not None:
        return sa.or_(a >= low, a <= -low)
    assert high is not None
    return sa.and_(a <= high, a >= -high)


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
    c.extend(on_shanghai_days(t.created_at, f.created_from, f.created_to))
    c.extend(on_shanghai_days(t.completed_at, f.completed_from, f.completed_to))
    if f.completed_to:
        # Implied (a transaction completes after it is created), and it lets the page's backward scan
        # of (created_at, id) start at that day instead of walking every newer transaction first.
        c.append(t.created_at < shanghai_day_bounds(f.completed_to)[1])
    if f.min_amount is not None or f.max_amount is not None:
        c.append(_size_between(f.min_amount, f.max_amount))
    if f.reference:
        c.append(sa.or_(t.channel_transaction_id == f.reference, t.transaction_id == f.reference,
                        t.channel_payment_id == sa.select(ChannelPayment.id)
                        .where(ChannelPayment.wire_reference == f.reference).scalar_subquery()))
    if f.merged_payment_id:
        c.append(t.merged_payment_id == sa.select(MergedPayment.id)
                 .where(MergedPayment.merged_payment_id == f.merged_payment_id).scalar_subquery())
    return c


def search(f: TransactionFilter, page: int = 1, page_size: int = PAGE_SIZE, count: int | None = None) -> Page:
    """One page; ``count`` (``totals(f).count``, bounded) when the caller has it, else counted here."""
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
    return Page([Row(*r) for r in rows], page, page_size, _bounded_count(conds) if count is None else count)


def _bounded_count(conds: list[sa.ColumnElement[bool]], cap: int | None = None) -> int:
    """The number of matching rows, but at most ``cap`` (default ``COUNT_CAP``) + 1."""
    t = PaymentTransaction
    cap = COUNT_CAP if cap is None else cap
    # SELECT 1, not a column: an index holding every filtered column answers alone (index-only scan).
    return db.session.scalar(sa.select(sa.func.count()).select_from(
        sa.select(sa.literal(1)).select_from(t).where(*conds).limit(cap + 1).subquery())) or 0


def count_exact(f: TransactionFilter) -> int:
    """Every matching row counted (an export's progress), however many."""
    t = PaymentTransaction
    return db.session.scalar(sa.select(sa.func.count(t.id)).where(*conditions(f))) or 0


def _day_totals_allowed(f: TransactionFilter) -> bool:
    """The filter is one the settled day rows answer: channel, kind, status and completed days only."""
    return not (f.reseller_code or f.created_from or f.created_to or f.min_amount is not None
                or f.max_amount is not None or f.reference or f.merged_payment_id)


def totals(f: TransactionFilter, cap: int | None = None) -> Totals:
    t = PaymentTransaction
    cap = COUNT_CAP if cap is None else cap
    conds = conditions(f)
    count = _bounded_count(conds, cap)
    if count <= cap:
        ok = t.status == TransactionStatus.SUCCESS
        row = db.session.execute(sa.select(
            sa.func.sum(sa.case((sa.and_(ok, t.transaction_type == TransactionType.PAYMENT), t.amount), else_=0)),
            sa.func.sum(sa.case((sa.and_(ok, t.transaction_type == TransactionType.REFUND), -t.amount), else_=0)),
            sa.func.sum(sa.case((t.status == TransactionStatus.PROCESSING, _size()), else_=0)),
        ).where(*conds)).one()
        return Totals(count, money(row[0]), money(row[1]), money(row[2]))
    if not _day_totals_allowed(f):
        return Totals(count, None, None, None, capped=True)
    received = refunded = in_flight = money(0)
    if f.status in (None, TransactionStatus.SUCCESS):
        m = MoneyFlowDay
        q = sa.select(sa.func.sum(m.received), sa.func.sum(m.refunded))
        if f.channel:
            q = q.where(m.channel_code == f.channel)
        if f.completed_from:
            q = q.where(m.day >= f.completed_from)
        if f.completed_to:
            q = q.where(m.day <= f.completed_to)
        got, back = db.session.execute(q).one()
        received = money(got) if f.kind in (None, TransactionType.PAYMENT) else received
        refunded = money(back) if f.kind in (None, TransactionType.REFUND) else refunded
    flight: Decimal | None = in_flight
    if f.status in (None, TransactionStatus.PROCESSING) and not (f.completed_from or f.completed_to):
        # PROCESSING rows are the payments and refunds in progress: few, but summed only up to the cap too.
        inner = sa.select(_size().label("size")).where(
            t.status == TransactionStatus.PROCESSING,
            *conditions(TransactionFilter(channel=f.channel, kind=f.kind))).limit(cap + 1).subquery()
        n, total = db.session.execute(sa.select(sa.func.count(), sa.func.sum(inner.c.size))).one()
        flight = money(total) if n <= cap else None
    return Totals(count, received, refunded, flight, capped=True, from_day_totals=True)


def channels() -> list[str]:
    """Every configured channel's code (the filter's choices)."""
    return list(db.session.scalars(sa.select(Channel.code).order_by(Channel.sort_order, Channel.code)))

