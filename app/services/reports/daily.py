"""One Shanghai calendar day of money movements for finance (docs/DOMAIN.md §8 "Reports"): received
(successful payments completed that day), refunded (successful refunds completed that day, as a
positive amount) and net (received − refunded), by channel, by payment type, and in total.

A transaction counts on the day it became final (``completed_at``), whatever day it started. Every
reseller; read only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from ...domain.enums import TransactionStatus, TransactionType
from ...domain.timeutil import shanghai_day_bounds
from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction
from ..statements.owed import ZERO, completed_at, money


@dataclass(frozen=True)
class Row:
    key: str  # a channel code or a payment type
    kind: str  # the channel's kind (by channel); the payment type again (by type)
    received: Decimal
    received_count: int
    refunded: Decimal
    refunded_count: int

    @property
    def net(self) -> Decimal:
        return self.received - self.refunded


@dataclass(frozen=True)
class DailyReport:
    day: date
    start: datetime
    end: datetime
    by_channel: list[Row]
    by_type: list[Row]

    @property
    def received(self) -> Decimal:
        return sum((r.received for r in self.by_channel), ZERO)

    @property
    def refunded(self) -> Decimal:
        return sum((r.refunded for r in self.by_channel), ZERO)

    @property
    def net(self) -> Decimal:
        return self.received - self.refunded

    @property
    def received_count(self) -> int:
        return sum(r.received_count for r in self.by_channel)

    @property
    def refunded_count(self) -> int:
        return sum(r.refunded_count for r in self.by_channel)


def _rows(group: list[InstrumentedAttribute], start: datetime, end: datetime, join_order: bool) -> list[Row]:
    t = PaymentTransaction
    when = completed_at()
    is_payment = t.transaction_type == TransactionType.PAYMENT
    is_refund = t.transaction_type == TransactionType.REFUND
    query = sa.select(*group,
                      sa.func.sum(sa.case((is_payment, t.amount), else_=0)),
                      sa.func.sum(sa.case((is_payment, 1), else_=0)),
                      sa.func.sum(sa.case((is_refund, -t.amount), else_=0)),
                      sa.func.sum(sa.case((is_refund, 1), else_=0)))
    if join_order:
        query = query.join(PaymentOrder, PaymentOrder.id == t.payment_order_id)
    rows = db.session.execute(
        query.where(t.status == TransactionStatus.SUCCESS, when >= start, when < end)
        .group_by(*group).order_by(*group)).all()
    out = []
    for row in rows:
        key, kind = (row[0], row[1]) if len(group) == 2 else (row[0], row[0])
        received, n_in, refunded, n_out = row[-4:]
        out.append(Row(key or "", kind or "", money(received), int(n_in or 0), money(refunded), int(n_out or 0)))
    return out


def daily_report(day: date) -> DailyReport:
    start, end = shanghai_day_bounds(day)
    t = PaymentTransaction
    return DailyReport(
        day=day, start=start, end=end,
        by_channel=_rows([t.channel_code, t.channel_kind], start, end, join_order=False),
        by_type=_rows([PaymentOrder.payment_type], start, end, join_order=True),
    )
