"""The money that moved, per Shanghai day, channel and payment type (``money_flow_days``), kept up to
date as it moves: the two places where a transaction becomes SUCCESS —
``settlement/channel_result`` (a payment) and ``refunds/part_settlement`` (a refund part) — call
``record``; a reconciliation reversal (``reconciliation/reversal``), which takes a SUCCESS payment
back in whole or in part, calls ``record_reversal``. The amounts wait in the session and are added just
before the outermost transaction commits (``platform/commit_hooks``: a rolled-back savepoint takes back
what was recorded in it), in key order, each with one UPSERT (``INSERT … ON CONFLICT DO UPDATE SET
x = x + excluded.x``; PostgreSQL and SQLite alike): concurrent settlements never lose an update, never
deadlock on these rows (same order everywhere) and hold each row's lock only for the commit. A
rolled-back transaction adds nothing.

``recompute`` builds the same rows from ``transactions``; ``differences`` compares the two (the check
of ``flask finance check-flows`` and of the tests); ``rebuild`` replaces the table with the
recomputation (what the migration's backfill does)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import TransactionStatus, TransactionType
from ...domain.timeutil import SHANGHAI
from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction
from ...models.money_flow import MoneyFlowDay
from ..platform import commit_hooks, upsert

_PENDING = "money_flows.pending"
ZERO = Decimal("0.00")

Key = tuple[date, str, str]  # (day, channel_code, payment_type)


@dataclass(frozen=True)
class FlowRow:
    payments: int
    received: Decimal
    refunds: int
    refunded: Decimal


def day_of(txn: PaymentTransaction) -> date:
    """The Shanghai day a successful transaction counts on: its completion, else its creation."""
    when: datetime = txn.completed_at or txn.created_at
    return when.astimezone(SHANGHAI).date()


def record(txn: PaymentTransaction, payment_type: str) -> None:
    """Count ``txn``, which has just become SUCCESS, when the current transaction commits."""
    assert txn.status == TransactionStatus.SUCCESS
    key = (day_of(txn), txn.channel_code or "", payment_type)
    if txn.transaction_type == TransactionType.PAYMENT:
        commit_hooks.defer(_PENDING, (key, 1, txn.amount, 0, ZERO))
    else:
        commit_hooks.defer(_PENDING, (key, 0, ZERO, 1, -txn.amount))


def record_reversal(txn: PaymentTransaction, payment_type: str, amount: Decimal, *, whole: bool) -> None:
    """Take ``amount`` of the SUCCESS payment ``txn`` back out of the row it was counted on (a
    reconciliation reversal, before ``txn`` changes): the day's received comes down, and its count when
    ``txn`` is reversed ``whole`` (it becomes FAILED; in part it stays SUCCESS with the rest)."""
    assert txn.status == TransactionStatus.SUCCESS and txn.transaction_type == TransactionType.PAYMENT
    key = (day_of(txn), txn.channel_code or "", payment_type)
    commit_hooks.defer(_PENDING, (key, -1 if whole else 0, -amount, 0, ZERO))


@commit_hooks.writes_before(_PENDING)
def _add_recorded(recorded: list[tuple[Key, int, Decimal, int, Decimal]]) -> None:
    pending: dict[Key, list] = {}
    for key, *amounts in recorded:
        row = pending.setdefault(key, [0, ZERO, 0, ZERO])
        for i, amount in enumerate(amounts):
            row[i] += amount
    _upsert(pending)


def _upsert(pending: dict[Key, list]) -> None:
    session = db.session
    table = MoneyFlowDay.__table__
    for key in sorted(pending):  # one order for every transaction: no deadlock between two of them
        payments, received, refunds, refunded = pending[key]
        stmt = upsert.insert(table).values(day=key[0], channel_code=key[1], payment_type=key[2], payments=payments,
                                    received=received, refunds=refunds, refunded=refunded)
        ex = stmt.excluded
        session.execute(stmt.on_conflict_do_update(
            index_elements=[table.c.day, table.c.channel_code, table.c.payment_type],
            set_=dict(payments=table.c.payments + ex.payments, received=table.c.received + ex.received,
                      refunds=table.c.refunds + ex.refunds, refunded=table.c.refunded + ex.refunded)))


_NONE = FlowRow(0, ZERO, 0, ZERO)


def stored(start: date | None = None, end: date | None = None) -> dict[Key, FlowRow]:
    """The stored rows of days in [start, end] (every day when open)."""
    m = MoneyFlowDay
    q = sa.select(m.day, m.channel_code, m.payment_type, m.payments, m.received, m.refunds, m.refunded)
    if start is not None:
        q = q.where(m.day >= start)
    if end is not None:
        q = q.where(m.day <= end)
    return {(r[0], r[1], r[2]): FlowRow(int(r[3]), _money(r[4]), int(r[5]), _money(r[6]))
            for r in db.session.execute(q)}


def _money(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _shanghai_day(when: sa.ColumnElement[datetime]) -> sa.ColumnElement:
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("Asia/Shanghai", when), sa.Date)
    return sa.func.date(when, "+8 hours")  # SQLite keeps UTC as text; Shanghai is UTC+8 all year


def recompute() -> dict[Key, FlowRow]:
    """Every row from ``transactions`` itself (one grouped scan): for the check and the rebuild only."""
    t = PaymentTransaction
    day = _shanghai_day(sa.func.coalesce(t.completed_at, t.created_at))
    is_pay = t.transaction_type == TransactionType.PAYMENT
    channel = sa.func.coalesce(t.channel_code, "")  # one expression in SELECT and GROUP BY (one parameter)
    rows = db.session.execute(
        sa.select(day, channel, PaymentOrder.payment_type,
                  sa.func.sum(sa.case((is_pay, 1), else_=0)), sa.func.sum(sa.case((is_pay, t.amount), else_=0)),
                  sa.func.sum(sa.case((is_pay, 0), else_=1)), sa.func.sum(sa.case((is_pay, 0), else_=-t.amount)))
        .join(PaymentOrder, PaymentOrder.id == t.payment_order_id)
        .where(t.status == TransactionStatus.SUCCESS)
        .group_by(day, channel, PaymentOrder.payment_type))
    return {(r[0] if isinstance(r[0], date) else date.fromisoformat(r[0]), r[1], r[2]):
            FlowRow(int(r[3]), _money(r[4]), int(r[5]), _money(r[6])) for r in rows}


def differences(found: dict[Key, FlowRow] | None = None) -> list[tuple[Key, FlowRow | None, FlowRow | None]]:
    """(key, stored, recomputed) for every key where the table and ``transactions`` disagree. A stored
    row of zeros is no row (what a reversal of a day's only payment leaves)."""
    found = recompute() if found is None else found
    kept = stored()
    return [(k, kept.get(k), found.get(k)) for k in sorted(set(kept) | set(found))
            if kept.get(k, _NONE) != found.get(k, _NONE)]


def rebuild() -> int:
    """Replace every row with the recomputation (in the caller's transaction). Returns the rows."""
    found = recompute()
    db.session.execute(sa.delete(MoneyFlowDay))
    if found:
        db.session.execute(sa.insert(MoneyFlowDay), [
            dict(day=k[0], channel_code=k[1], payment_type=k[2], payments=v.payments, received=v.received,
                 refunds=v.refunds, refunded=v.refunded) for k, v in found.items()])
    return len(found)


