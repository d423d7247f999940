"""Read side of payment orders: filtered, paginated lists and transaction lists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, aliased

from ...domain.enums import TransactionStatus, TransactionType
from ...domain.order_status import NEVER_OVERDUE
from ...domain.timeutil import shanghai_day_bounds
from ...extensions import db
from ...models import ChannelPayment, MergedPayment, PaymentOrder, PaymentTransaction, Reseller
from ...models.types import now_utc
from ..platform.day_range import on_shanghai_days
from ..platform.paging import Page
from .view import transaction_dict

MAX_PAGE_SIZE = 200


@dataclass
class OrderFilter:
    order_ids: list[str] | None = None
    reseller_code: str | None = None
    reseller_id: int | None = None  # set by the portal to the signed-in user's company
    channel_transaction_id: str | None = None
    related_business_id: str | None = None
    payment_statuses: list[str] | None = None
    payment_types: list[str] | None = None
    created_from: date | None = None
    created_to: date | None = None
    deadline_from: date | None = None
    deadline_to: date | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    channel: str | None = None
    overdue: bool | None = None
    paid_from: date | None = None  # the day of the order's last successful payment (docs/API.md §3)
    paid_to: date | None = None
    updated_from: date | None = None
    updated_to: date | None = None
    refund_statuses: list[str] | None = None


def conditions(f: OrderFilter) -> list[sa.ColumnElement[bool]]:
    c: list[sa.ColumnElement[bool]] = []
    if f.order_ids:
        c.append(PaymentOrder.order_id.in_(f.order_ids))
    if f.reseller_id is not None:
        c.append(PaymentOrder.reseller_id == f.reseller_id)
    if f.reseller_code:
        c.append(PaymentOrder.reseller_id == sa.select(Reseller.id).where(Reseller.code == f.reseller_code)
                 .scalar_subquery())
    if f.related_business_id:
        c.append(PaymentOrder.related_business_id == f.related_business_id)
    if f.payment_statuses:
        c.append(PaymentOrder.payment_status.in_(f.payment_statuses))
    if f.payment_types:
        c.append(PaymentOrder.payment_type.in_(f.payment_types))
    c.extend(on_shanghai_days(PaymentOrder.created_at, f.created_from, f.created_to))
    c.extend(on_shanghai_days(PaymentOrder.payment_deadline, f.deadline_from, f.deadline_to))
    if f.min_amount is not None:
        c.append(PaymentOrder.payment_amount >= f.min_amount)
    if f.max_amount is not None:
        c.append(PaymentOrder.payment_amount <= f.max_amount)
    if f.channel_transaction_id or f.channel:
        t = aliased(PaymentTransaction)
        sub = sa.select(t.id).where(t.payment_order_id == PaymentOrder.id)
        if f.channel_transaction_id:
            sub = sub.where(t.channel_transaction_id == f.channel_transaction_id)
        if f.channel:
            sub = sub.where(t.channel_code == f.channel)
        c.append(sa.exists(sub))
    c.extend(_paid_conditions(f))
    c.extend(on_shanghai_days(PaymentOrder.updated_at, f.updated_from, f.updated_to))
    if f.refund_statuses:
        c.append(PaymentOrder.refund_status.in_(f.refund_statuses))
    if f.overdue is not None:
        overdue = sa.and_(PaymentOrder.payment_deadline < now_utc(),
                          PaymentOrder.payment_status.not_in(NEVER_OVERDUE))
        c.append(overdue if f.overdue else sa.not_(overdue))
    return c


def _paid_conditions(f: OrderFilter) -> list[sa.ColumnElement[bool]]:
    """The last successful payment falls in [paid_from, paid_to]: one on or after the first day, and
    none after the last day (each an EXISTS on the order's transactions, by their order index)."""
    if not (f.paid_from or f.paid_to):
        return []

    def succeeded(when: Callable[[Any], sa.ColumnElement[bool]]) -> sa.Exists:
        t = aliased(PaymentTransaction)
        return sa.exists(sa.select(t.id).where(t.payment_order_id == PaymentOrder.id,
                                               t.transaction_type == TransactionType.PAYMENT,
                                               t.status == TransactionStatus.SUCCESS, when(t)))

    c: list[sa.ColumnElement[bool]] = []
    if f.paid_from:
        start = shanghai_day_bounds(f.paid_from)[0]
        c.append(succeeded(lambda t: t.completed_at >= start))
    if f.paid_to:
        end = shanghai_day_bounds(f.paid_to)[1]
        c.append(succeeded(lambda t: t.completed_at < end))
        c.append(sa.not_(succeeded(lambda t: t.completed_at >= end)))
    return c


SORTS: dict[str, InstrumentedAttribute[Any]] = {
    "created": PaymentOrder.created_at,
    "deadline": PaymentOrder.payment_deadline,
    "amount": PaymentOrder.payment_amount,
    "status": PaymentOrder.payment_status,
    "orderId": PaymentOrder.order_id,
}


def list_orders(f: OrderFilter, page: int = 1, page_size: int = 50, sort: str = "-created") -> Page:
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    conds = conditions(f)
    desc = sort.startswith("-")
    column = SORTS.get(sort.lstrip("-"), PaymentOrder.created_at)
    order_by = [column.desc() if desc else column.asc(), PaymentOrder.id.desc() if desc else PaymentOrder.id.asc()]
    rows = db.session.execute(
        sa.select(PaymentOrder, Reseller.code)
        .join(Reseller, Reseller.id == PaymentOrder.reseller_id)
        .where(*conds).order_by(*order_by).limit(page_size).offset((page - 1) * page_size)
    ).all()
    total = db.session.scalar(sa.select(sa.func.count(PaymentOrder.id)).where(*conds)) or 0
    return Page([(r[0], r[1]) for r in rows], page, page_size, total)


def order_totals(f: OrderFilter) -> dict:
    """Sums over the whole filtered set (for the portal's totals row)."""
    row = db.session.execute(
        sa.select(
            sa.func.count(PaymentOrder.id),
            sa.func.coalesce(sa.func.sum(PaymentOrder.payment_amount), 0),
            sa.func.coalesce(sa.func.sum(PaymentOrder.paid_amount), 0),
            sa.func.coalesce(sa.func.sum(PaymentOrder.reserved_amount), 0),
        ).where(*conditions(f))
    ).one()
    amount, paid, reserved = (Decimal(x).quantize(Decimal("0.01")) for x in row[1:])
    return {"count": row[0], "amount": amount, "paid": paid, "reserved": reserved,
            "payable": amount - paid - reserved}


def transactions_of(order: PaymentOrder, transaction_type: str | None = None) -> list[dict]:
    """The order's transactions, newest first, in their API shape."""
    original = aliased(PaymentTransaction)
    stmt = (
        sa.select(PaymentTransaction, MergedPayment.merged_payment_id, ChannelPayment.channel_payment_id,
                  original.transaction_id)
        .outerjoin(MergedPayment, MergedPayment.id == PaymentTransaction.merged_payment_id)
        .outerjoin(ChannelPayment, ChannelPayment.id == PaymentTransaction.channel_payment_id)
        .outerjoin(original, original.id == PaymentTransaction.original_transaction_id)
        .where(PaymentTransaction.payment_order_id == order.id)
        .order_by(PaymentTransaction.created_at.desc(), PaymentTransaction.id.desc())
    )
    if transaction_type:
        stmt = stmt.where(PaymentTransaction.transaction_type == transaction_type)
    return [
        transaction_dict(t, order.payment_id, cp_no, mp_no, orig_no)
        for t, mp_no, cp_no, orig_no in db.session.execute(stmt).all()
    ]

