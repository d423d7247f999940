"""Aging (账龄) of what a reseller still owes past the deadline, at a moment (docs/DOMAIN.md §8).

An order counts when, at ``as_of``, it existed, was not stopped, its deadline had passed and part of
it was unpaid (its amount less its successful payments completed before ``as_of``). Days past the
deadline are whole days (``as_of − deadline``, rounded down); buckets 0–30, 31–60, 61–90 and over 90.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import PaymentStatus, TransactionStatus, TransactionType
from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction
from .owed import ZERO, completed_at, money, stopped_at

# (label, lowest day, highest day or None): the buckets in the order a statement shows them.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), (">90", 91, None))


@dataclass(frozen=True)
class AgingBucket:
    label: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Aging:
    as_of: datetime
    buckets: tuple[AgingBucket, ...]

    @property
    def total(self) -> Decimal:
        return sum((b.amount for b in self.buckets), ZERO)

    @property
    def count(self) -> int:
        return sum(b.count for b in self.buckets)


def bucket_label(days: int) -> str:
    for label, low, high in BUCKETS:
        if days >= low and (high is None or days <= high):
            return label
    raise ValueError(f"days past deadline cannot be negative: {days}")


def days_past(as_of: datetime, deadline: datetime) -> int:
    return int((as_of - deadline).total_seconds() // 86400)


def aging(reseller_id: int, as_of: datetime) -> Aging:
    o, t = PaymentOrder, PaymentTransaction
    paid_before = (sa.select(sa.func.coalesce(sa.func.sum(t.amount), 0))
                   .where(t.payment_order_id == o.id, t.transaction_type == TransactionType.PAYMENT,
                          t.status == TransactionStatus.SUCCESS, completed_at() < as_of)
                   .scalar_subquery())
    stopped = stopped_at()
    rows = db.session.execute(
        sa.select(o.payment_deadline, o.payment_amount - paid_before)
        .where(o.reseller_id == reseller_id, o.created_at < as_of, o.payment_deadline.is_not(None),
               o.payment_deadline < as_of,
               sa.or_(o.payment_status != PaymentStatus.STOPPED, stopped.is_(None), stopped >= as_of))).all()
    sums: dict[str, list] = {label: [0, ZERO] for label, _, _ in BUCKETS}
    for deadline, unpaid in rows:
        unpaid = money(unpaid)
        if unpaid <= 0 or deadline is None:
            continue
        cell = sums[bucket_label(days_past(as_of, deadline))]
        cell[0] += 1
        cell[1] += unpaid
    return Aging(as_of, tuple(AgingBucket(label, sums[label][0], sums[label][1]) for label, _, _ in BUCKETS))
