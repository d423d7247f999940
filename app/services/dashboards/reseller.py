"""The reseller's dashboard (docs/SCREENS.md ``/``): what is owed, what is late or due soon, what is in flight,
the wallet and the credit line, the latest merged payments and the credit records falling due.

Read only. The order figures come from one aggregate over the reseller's orders (the
``reseller_id`` indexes), so the page costs the same whatever the number of orders' transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ...domain.order_status import NEVER_OVERDUE, NOT_PAYABLE
from ...domain.timeutil import utcnow
from ...extensions import db
from ...models import ChannelPayment, CreditRecord, MergedPayment, PaymentOrder, Reseller
from ..ledgers import credit_line
from ..ledgers.credit_view import record_status

ZERO = Decimal("0.00")
DUE_SOON_DAYS = 7


@dataclass(frozen=True)
class Figure:
    """An amount and how many orders make it up."""

    amount: Decimal
    count: int


@dataclass(frozen=True)
class RecentPayment:
    merged_payment_id: str
    status: str
    total_amount: Decimal
    channel_kinds: tuple[str, ...]
    created_at: object


@dataclass(frozen=True)
class DueCreditRecord:
    credit_record_id: str
    order_id: str
    amount: Decimal
    outstanding_amount: Decimal
    due_date: object
    status: str  # OPEN | OVERDUE


@dataclass(frozen=True)
class Dashboard:
    payable: Figure  # payable amount (remaining − in flight) of every order that can be paid
    overdue: Figure  # the payable part of orders past their deadline
    due_soon: Figure  # the payable part of orders due in the next DUE_SOON_DAYS days
    in_flight: Figure  # reserved by payments still processing
    wallet_balance: Decimal
    credit_limit: Decimal
    credit_used: Decimal
    credit_available: Decimal
    recent_payments: list[RecentPayment]
    credit_records_due: list[DueCreditRecord]


def _money(value: Decimal | int | None) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _order_figures(reseller_id: int, now: datetime) -> dict[str, Figure]:
    o = PaymentOrder
    payable_amount = o.payment_amount - o.paid_amount - o.reserved_amount
    payable = sa.and_(o.payment_status.not_in(NOT_PAYABLE), payable_amount > 0)
    late = sa.and_(payable, o.payment_deadline < now, o.payment_status.not_in(NEVER_OVERDUE))
    soon = sa.and_(payable, o.payment_deadline >= now, o.payment_deadline < now + timedelta(days=DUE_SOON_DAYS))
    flying = o.reserved_amount > 0

    def pair(cond: sa.ColumnExpressionArgument[bool],
             amount: sa.ColumnExpressionArgument[Decimal]) -> tuple[sa.ColumnElement, ...]:
        return (sa.func.sum(sa.case((cond, amount), else_=0)), sa.func.sum(sa.case((cond, 1), else_=0)))

    row = db.session.execute(
        sa.select(*pair(payable, payable_amount), *pair(late, payable_amount), *pair(soon, payable_amount),
                  *pair(flying, o.reserved_amount))
        .where(o.reseller_id == reseller_id)
    ).one()
    names = ("payable", "overdue", "due_soon", "in_flight")
    return {name: Figure(_money(row[2 * i]), int(row[2 * i + 1] or 0)) for i, name in enumerate(names)}


def recent_payments(reseller_id: int, limit: int = 5) -> list[RecentPayment]:
    merged = db.session.execute(
        sa.select(MergedPayment.id, MergedPayment.merged_payment_id, MergedPayment.status,
                  MergedPayment.total_amount, MergedPayment.created_at)
        .where(MergedPayment.reseller_id == reseller_id)
        .order_by(MergedPayment.created_at.desc(), MergedPayment.id.desc()).limit(limit)
    ).all()
    kinds: dict[int, list[str]] = {}
    if merged:
        for mp_pk, kind in db.session.execute(
            sa.select(ChannelPayment.merged_payment_id, ChannelPayment.channel_kind)
            .where(ChannelPayment.merged_payment_id.in_([m.id for m in merged])).order_by(ChannelPayment.id)
        ):
            if kind not in kinds.setdefault(mp_pk, []):
                kinds[mp_pk].append(kind)
    return [RecentPayment(m.merged_payment_id, m.status, m.total_amount, tuple(kinds.get(m.id, ())), m.created_at)
            for m in merged]


def credit_records_due(reseller_id: int, limit: int = 5) -> list[DueCreditRecord]:
    """Credit records with money still to repay, the earliest due first."""
    rows = db.session.scalars(
        sa.select(CreditRecord)
        .where(CreditRecord.reseller_id == reseller_id, CreditRecord.outstanding_amount > 0)
        .order_by(CreditRecord.due_date, CreditRecord.id).limit(limit)
    ).all()
    return [DueCreditRecord(r.credit_record_id, r.order_id, r.amount, r.outstanding_amount, r.due_date,
                            record_status(r)) for r in rows]


def reseller_dashboard(reseller_id: int) -> Dashboard:
    now = utcnow()
    figures = _order_figures(reseller_id, now)
    reseller = db.session.get_one(Reseller, reseller_id)
    return Dashboard(
        payable=figures["payable"], overdue=figures["overdue"], due_soon=figures["due_soon"],
        in_flight=figures["in_flight"], wallet_balance=reseller.wallet_balance, credit_limit=reseller.credit_limit,
        credit_used=reseller.credit_used, credit_available=credit_line.available(reseller),
        recent_payments=recent_payments(reseller_id), credit_records_due=credit_records_due(reseller_id),
    )
