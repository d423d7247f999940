"""What happened in a statement's period, grouped: orders created by payment type, successful
payments by channel, successful refunds by channel (docs/DOMAIN.md §8). Amounts are positive;
a refund transaction is stored negative and shown as what was given back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import TransactionStatus, TransactionType
from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction
from .owed import ZERO, completed_at, money


@dataclass(frozen=True)
class Group:
    """One row of a grouped figure: a key (a payment type, or a channel's kind and code), how many, how much."""

    key: str
    kind: str
    count: int
    amount: Decimal


def total(groups: list[Group]) -> Decimal:
    return sum((g.amount for g in groups), ZERO)


def orders_by_type(reseller_id: int, start: datetime, end: datetime) -> list[Group]:
    o = PaymentOrder
    rows = db.session.execute(
        sa.select(o.payment_type, sa.func.count(o.id), sa.func.sum(o.payment_amount))
        .where(o.reseller_id == reseller_id, o.created_at >= start, o.created_at < end)
        .group_by(o.payment_type).order_by(o.payment_type)).all()
    return [Group(kind, kind, int(n), money(amount)) for kind, n, amount in rows]


def _transactions_by_channel(reseller_id: int | None, start: datetime, end: datetime,
                             transaction_type: TransactionType) -> list[Group]:
    t = PaymentTransaction
    when = completed_at()
    conds = [t.transaction_type == transaction_type, t.status == TransactionStatus.SUCCESS,
             when >= start, when < end]
    if reseller_id is not None:
        conds.append(t.reseller_id == reseller_id)
    sign = -1 if transaction_type == TransactionType.REFUND else 1
    rows = db.session.execute(
        sa.select(t.channel_kind, t.channel_code, sa.func.count(t.id), sa.func.sum(t.amount))
        .where(*conds).group_by(t.channel_kind, t.channel_code).order_by(t.channel_kind, t.channel_code)).all()
    return [Group(code or "", kind or "", int(n), money(amount) * sign) for kind, code, n, amount in rows]


def payments_by_channel(reseller_id: int | None, start: datetime, end: datetime) -> list[Group]:
    """Successful payments completed in [start, end), per channel; all resellers when ``reseller_id`` is None."""
    return _transactions_by_channel(reseller_id, start, end, TransactionType.PAYMENT)


def refunds_by_channel(reseller_id: int | None, start: datetime, end: datetime) -> list[Group]:
    """Successful refunds completed in [start, end), per channel of the payment they return, as positive amounts."""
    return _transactions_by_channel(reseller_id, start, end, TransactionType.REFUND)
