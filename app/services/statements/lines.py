"""A statement's detail lines (明细): every event of the period that moved what is owed or gave money
back, in time order, with the running balance owed after it (docs/DOMAIN.md §8).

- ``ORDER``: an order created (owed goes up by its amount);
- ``PAYMENT``: a successful payment completed (owed goes down);
- ``STOPPED``: an order stopped (owed goes down by what it still owed);
- ``REFUND``: a successful refund completed (money given back; owed does not move).

Lines are read from one UNION ALL in time order and streamed (``yield_per``), so a statement of
20,000 lines never holds them all; the running balance starts at the period's opening balance and
ends at its closing balance (the statement's tests check both).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import PaymentStatus, StatementLineKind, TransactionStatus, TransactionType
from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction, StatusLog
from .owed import ZERO, completed_at, money

STREAM_BATCH = 1000


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str  # ORDER | PAYMENT | STOPPED | REFUND
    payment_id: str
    order_id: str
    detail: str  # payment type, or channel code and transaction number
    owed_change: Decimal  # + owed more, − owed less, 0 for a refund
    refunded: Decimal  # money given back (REFUND lines)
    balance: Decimal  # owed after this line


def _selects(reseller_id: int, start: datetime, end: datetime) -> sa.CompoundSelect:
    o, t, s = PaymentOrder, PaymentTransaction, StatusLog
    when = completed_at()
    zero = sa.literal(ZERO, type_=o.payment_amount.type)
    kinds = {k: sa.literal(k.value).label("kind") for k in StatementLineKind}
    orders = sa.select(o.created_at.label("at"), sa.literal(1).label("rank"), o.id.label("ref"),
                       kinds[StatementLineKind.ORDER], o.payment_id, o.order_id,
                       o.payment_type.label("detail"), o.payment_amount.label("change"), zero.label("refunded")
                       ).where(o.reseller_id == reseller_id, o.created_at >= start, o.created_at < end)
    txn_detail = sa.func.coalesce(t.channel_code, "") + sa.literal(" ") + t.transaction_id
    payments = (sa.select(when.label("at"), sa.literal(2).label("rank"), t.id.label("ref"),
                          kinds[StatementLineKind.PAYMENT], o.payment_id, o.order_id, txn_detail.label("detail"),
                          (-t.amount).label("change"), zero.label("refunded"))
                .join(o, o.id == t.payment_order_id)
                .where(t.reseller_id == reseller_id, t.transaction_type == TransactionType.PAYMENT,
                       t.status == TransactionStatus.SUCCESS, when >= start, when < end))
    refunds = (sa.select(when.label("at"), sa.literal(3).label("rank"), t.id.label("ref"),
                         kinds[StatementLineKind.REFUND], o.payment_id, o.order_id, txn_detail.label("detail"),
                         zero.label("change"), (-t.amount).label("refunded"))
               .join(o, o.id == t.payment_order_id)
               .where(t.reseller_id == reseller_id, t.transaction_type == TransactionType.REFUND,
                      t.status == TransactionStatus.SUCCESS, when >= start, when < end))
    stops = (sa.select(s.created_at.label("at"), sa.literal(4).label("rank"), s.id.label("ref"),
                       kinds[StatementLineKind.STOPPED], o.payment_id, o.order_id, sa.literal("").label("detail"),
                       (o.paid_amount - o.payment_amount).label("change"), zero.label("refunded"))
             .join(o, o.id == s.payment_order_id)
             .where(o.reseller_id == reseller_id, o.payment_status == PaymentStatus.STOPPED, s.field == "payment",
                    s.to_status == PaymentStatus.STOPPED, s.created_at >= start, s.created_at < end))
    return sa.union_all(orders, payments, refunds, stops)


def count_lines(reseller_id: int, start: datetime, end: datetime) -> int:
    union = _selects(reseller_id, start, end).subquery()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(union)) or 0)


def statement_lines(reseller_id: int, start: datetime, end: datetime, opening: Decimal) -> Iterator[StatementLine]:
    """The period's lines in time order (ties: orders, payments, refunds, stops; then by row id), each
    with the balance owed after it, starting from ``opening``."""
    union = _selects(reseller_id, start, end).subquery()
    query = (sa.select(union.c.at, union.c.kind, union.c.payment_id, union.c.order_id, union.c.detail,
                       union.c.change, union.c.refunded)
             .order_by(union.c.at, union.c.rank, union.c.ref)
             .execution_options(yield_per=STREAM_BATCH))
    balance = opening
    for at, kind, payment_id, order_id, detail, change, refunded in db.session.execute(query):
        change = money(change)
        balance += change
        yield StatementLine(at=_aware(at), kind=kind, payment_id=payment_id, order_id=order_id, detail=detail or "",
                            owed_change=change, refunded=money(refunded), balance=balance)


def _aware(value: datetime | str) -> datetime:
    """A union's column loses the UTC type decorator on SQLite (text, naive): read it back as UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
