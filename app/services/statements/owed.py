"""What a reseller owes at a moment, and what moved it during a period (docs/DOMAIN.md §8).

Owed at ``t`` = the amounts of the reseller's orders created before ``t`` − its successful payments
completed before ``t`` − what its orders stopped before ``t`` still owed (a STOPPED order is owed no
more; it cannot take a payment after it stopped, so what it still owed is its amount less what it
was paid). Refunds give money back without making an order owed again (remaining = amount − paid,
docs/DOMAIN.md §3), so they do not move it. Over a period:

    closing = opening + orders created − payments − orders stopped

Each term is its own query; the statement's test checks the identity, so the terms cannot drift
apart. An order's amount counts at its current value (a PATCH of ``paymentAmount`` is not dated).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import PaymentStatus, TransactionStatus, TransactionType
from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction, StatusLog

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def money(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def completed_at() -> sa.ColumnElement[datetime]:
    """When a transaction became final (its creation time if an old row has no completion time)."""
    return sa.func.coalesce(PaymentTransaction.completed_at, PaymentTransaction.created_at)


def stopped_at() -> sa.ScalarSelect:
    """Correlated: when the order became STOPPED (NULL when it never did)."""
    return (sa.select(sa.func.min(StatusLog.created_at))
            .where(StatusLog.payment_order_id == PaymentOrder.id, StatusLog.field == "payment",
                   StatusLog.to_status == PaymentStatus.STOPPED)
            .scalar_subquery())


@dataclass(frozen=True)
class OwedMovement:
    opening: Decimal  # owed at the start of the period
    created: Decimal  # amounts of the orders created in the period
    created_count: int
    paid: Decimal  # successful payments completed in the period
    stopped: Decimal  # what the orders stopped in the period still owed
    stopped_count: int
    closing: Decimal  # owed at the end of the period


def created_between(reseller_id: int, start: datetime | None, end: datetime) -> tuple[Decimal, int]:
    o = PaymentOrder
    conds = [o.reseller_id == reseller_id, o.created_at < end]
    if start is not None:
        conds.append(o.created_at >= start)
    total, count = db.session.execute(sa.select(sa.func.sum(o.payment_amount), sa.func.count(o.id))
                                      .where(*conds)).one()
    return money(total), int(count or 0)


def paid_between(reseller_id: int, start: datetime | None, end: datetime) -> Decimal:
    t = PaymentTransaction
    when = completed_at()
    conds = [t.reseller_id == reseller_id, t.transaction_type == TransactionType.PAYMENT,
             t.status == TransactionStatus.SUCCESS, when < end]
    if start is not None:
        conds.append(when >= start)
    return money(db.session.scalar(sa.select(sa.func.sum(t.amount)).where(*conds)))


def stopped_between(reseller_id: int, start: datetime | None, end: datetime) -> tuple[Decimal, int]:
    o = PaymentOrder
    when = stopped_at()
    conds = [o.reseller_id == reseller_id, o.payment_status == PaymentStatus.STOPPED, when < end]
    if start is not None:
        conds.append(when >= start)
    total, count = db.session.execute(
        sa.select(sa.func.sum(o.payment_amount - o.paid_amount), sa.func.count(o.id)).where(*conds)).one()
    return money(total), int(count or 0)


def owed_at(reseller_id: int, moment: datetime) -> Decimal:
    created, _ = created_between(reseller_id, None, moment)
    stopped, _ = stopped_between(reseller_id, None, moment)
    return created - paid_between(reseller_id, None, moment) - stopped


def owed_movement(reseller_id: int, start: datetime, end: datetime) -> OwedMovement:
    created, created_count = created_between(reseller_id, start, end)
    stopped, stopped_count = stopped_between(reseller_id, start, end)
    return OwedMovement(opening=owed_at(reseller_id, start), created=created, created_count=created_count,
                        paid=paid_between(reseller_id, start, end), stopped=stopped, stopped_count=stopped_count,
                        closing=owed_at(reseller_id, end))
