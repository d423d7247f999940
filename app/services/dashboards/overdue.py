"""The finance dashboard's overdue orders (count and what they still owe) without counting every
overdue order: ``open_order_days`` holds, per UTC day of the deadline, the orders that can still become
overdue (kept by triggers on ``payment_orders``, migration 28bfb1d0f3b5), so the overdue orders at
``now`` are every day before today's (UTC) — at most one row per day and stripe — plus the orders
whose deadline is today and already past, read live on ``ix_payment_orders_status_deadline``.
The same figure as ``count(*)``/``sum`` over ``payment_orders`` (``live``), which ``differences``
and the tests compare it with."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from ...domain.enums import PaymentStatus
from ...domain.order_status import NEVER_OVERDUE
from ...extensions import db
from ...models import PaymentOrder
from ...models.money_flow import OpenOrderDay
from ..statements.owed import money

OVERDUE_CAN_BE = [s.value for s in PaymentStatus if s not in NEVER_OVERDUE]


def _payable() -> sa.ColumnElement[Decimal]:
    o = PaymentOrder
    return o.payment_amount - o.paid_amount - o.reserved_amount


def live(since: datetime | None, now: datetime) -> tuple[int, Decimal]:
    """Overdue orders counted in ``payment_orders`` itself, deadline in [since, now) (``since`` None: all)."""
    o = PaymentOrder
    q = sa.select(sa.func.count(), sa.func.sum(_payable())).where(o.payment_status.in_(OVERDUE_CAN_BE),
                                                                  o.payment_deadline < now)
    if since is not None:
        q = q.where(o.payment_deadline >= since)
    count, payable = db.session.execute(q).one()
    return int(count or 0), money(payable)


def overdue(now: datetime) -> tuple[int, Decimal]:
    """(overdue orders, what they still owe) at ``now``."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(0), UTC)
    d = OpenOrderDay
    count, payable = db.session.execute(sa.select(sa.func.sum(d.orders), sa.func.sum(d.payable))
                                        .where(d.day < midnight.date())).one()
    today_count, today_payable = live(midnight, now)
    return int(count or 0) + today_count, money(payable) + today_payable


def _utc_day(column: sa.ColumnElement[datetime | None] | InstrumentedAttribute[datetime | None]) -> sa.ColumnElement:
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def differences() -> list[tuple[date, tuple[int, Decimal], tuple[int, Decimal]]]:
    """(day, stored, recomputed) for every deadline day where the table and ``payment_orders`` disagree."""
    o, d = PaymentOrder, OpenOrderDay
    day = _utc_day(o.payment_deadline)
    found = {_as_date(r[0]): (int(r[1]), money(r[2])) for r in db.session.execute(
        sa.select(day, sa.func.count(), sa.func.sum(_payable()))
        .where(o.payment_deadline.is_not(None), o.payment_status.notin_([s.value for s in NEVER_OVERDUE]))
        .group_by(day))}
    kept = {_as_date(r[0]): (int(r[1]), money(r[2])) for r in db.session.execute(
        sa.select(d.day, sa.func.sum(d.orders), sa.func.sum(d.payable)).group_by(d.day))}
    none = (0, money(0))
    return [(k, kept.get(k, none), found.get(k, none)) for k in sorted(set(kept) | set(found))
            if kept.get(k, none) != found.get(k, none)]


def rebuild() -> int:
    """Replace every row with the recomputation (in the caller's transaction). Returns the rows."""
    o = PaymentOrder
    day = _utc_day(o.payment_deadline)
    rows = db.session.execute(
        sa.select(day, sa.func.count(), sa.func.sum(_payable()))
        .where(o.payment_deadline.is_not(None), o.payment_status.notin_([s.value for s in NEVER_OVERDUE]))
        .group_by(day)).all()
    db.session.execute(sa.delete(OpenOrderDay))
    if rows:
        db.session.execute(sa.insert(OpenOrderDay), [
            {"day": _as_date(r[0]), "stripe": 0, "orders": int(r[1]), "payable": money(r[2])} for r in rows])
    return len(rows)
