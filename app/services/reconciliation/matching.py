"""The matching, set-based: a handful of SQL statements per run, whatever the number of lines.

Payment lines of the run's import are joined to our channel payments of the channel by our number
(the line's ``reference``, the gateway's merchantOrderNo). Per line, first occurrence only:

- no channel payment of ours                                   → MISSING_IN_SYSTEM (漏单)
- channel SUCCESS, ours SUCCESS (or PROCESSING), amounts differ → AMOUNT_MISMATCH
- channel SUCCESS, ours SUCCESS, same amount                    → MATCHED
- channel FAILED, ours FAILED / EXPIRED / CANCELLED             → MATCHED
- anything else (SUCCESS vs FAILED, FAILED vs SUCCESS, ...)     → STATUS_MISMATCH

Our amount is what we hold as received (``held``: the received amount a settlement or a reversal
recorded, else the payment's amount), so a payment reversed to what the channel took matches its line,
and a reversed one whose line turns up after all is a difference, not silently MATCHED.

A later line with the same channel transaction id is a DUPLICATE. Only the differences are stored as
results; MATCHED lines are counted (``classify`` returns their count and amount). A channel payment of
ours that succeeded that day, holds something as received and is on no line is MISSING_IN_CHANNEL.
Channel SUCCESS against our PROCESSING with the same amount is not classified here:
``settle_candidates`` lists those for the settlement path first (runs.py), after which they are
MATCHED. Refund and payout lines are stored but not matched yet (docs/DOMAIN.md §8).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.selectable import NamedFromClause

from ...domain.enums import ChannelPaymentStatus, GatewayPaymentStatus, ReconClass
from ...domain.timeutil import shanghai_day_bounds
from ...extensions import db
from ...models import ChannelPayment, ReconciliationResult, StatementLine
from .figures import cents_sum

PAYMENT_LINE = "payment"
SUCCESS, FAILED = GatewayPaymentStatus.SUCCESS.value, GatewayPaymentStatus.FAILED.value
_OURS_FAILED = (ChannelPaymentStatus.FAILED, ChannelPaymentStatus.EXPIRED, ChannelPaymentStatus.CANCELLED)


@dataclass(frozen=True)
class SettleCandidate:
    channel_payment_pk: int
    channel_transaction_id: str
    completed_at: datetime | None


def _lines(import_id: int) -> tuple[NamedFromClause, sa.ColumnElement[Any]]:
    """The import's payment lines, each with its ``occurrence``: how many earlier lines (by line
    number) carry the same channel transaction id (0 for the first). One window over the import's
    lines, not a count per line."""
    t = StatementLine.__table__
    txn: sa.ColumnElement[Any] = t.c.channel_transaction_id
    if db.session.get_bind().dialect.name == "postgresql":
        txn = sa.collate(txn, "C")  # bytewise: the same partitions, a sort several times faster than the locale's
    occurrence = sa.func.row_number().over(partition_by=txn, order_by=t.c.line_no) - 1
    line = (sa.select(t.c.id, t.c.channel_transaction_id, t.c.reference, t.c.amount, t.c.status, t.c.completed_at,
                      occurrence.label("occurrence"))
            .where(t.c.import_id == import_id, t.c.line_type == PAYMENT_LINE)
            .subquery("l"))
    return line, line.c.occurrence


def _ours(channel_id: int, line: NamedFromClause) -> tuple[NamedFromClause, sa.ColumnElement[bool]]:
    cp = ChannelPayment.__table__.alias("cp")
    on = sa.and_(cp.c.channel_id == channel_id, cp.c.channel_payment_id == line.c.reference)
    return cp, on


def held(cp: NamedFromClause) -> sa.ColumnElement[Any]:
    """Our figure for a channel payment: what we hold as received (a settlement with another figure, or a
    reversal, recorded it), else its amount (reconciliation/reversal.py ``recorded``)."""
    return sa.func.coalesce(cp.c.received_amount, cp.c.amount)


def settle_candidates(import_id: int, channel_id: int) -> list[SettleCandidate]:
    """Lines the channel reports SUCCESS for a payment we hold PROCESSING, with the same amount."""
    line, occurrence = _lines(import_id)
    cp, on = _ours(channel_id, line)
    rows = db.session.execute(
        sa.select(cp.c.id, line.c.channel_transaction_id, line.c.completed_at)
        .select_from(line.join(cp, on))
        .where(line.c.status == SUCCESS, cp.c.status == ChannelPaymentStatus.PROCESSING,
               cp.c.amount == line.c.amount, occurrence == 0)
        .order_by(cp.c.id)).all()
    return [SettleCandidate(r[0], r[1], r[2]) for r in rows]


def classify(run_id: int, import_id: int, channel_id: int, day: date) -> tuple[int, int]:
    """Write the run's differences (the caller has removed the previous computation's). A MATCHED
    line is counted, not stored: nothing reads it again, and a million of them were most of a run's
    time. Returns the MATCHED lines' (count, amount in cents)."""
    if db.session.get_bind().dialect.name == "postgresql":
        # The window's sort and the join's hash of a million lines in memory, not in temporary files.
        db.session.execute(sa.text("SET LOCAL work_mem = '128MB'"))
    line, occurrence = _lines(import_id)
    cp, on = _ours(channel_id, line)
    ours_amount = held(cp)
    result_class = sa.case(
        (occurrence > 0, ReconClass.DUPLICATE.value),
        (cp.c.id.is_(None), ReconClass.MISSING_IN_SYSTEM.value),
        (sa.and_(line.c.status == SUCCESS,
                 cp.c.status.in_((ChannelPaymentStatus.SUCCESS, ChannelPaymentStatus.PROCESSING)),
                 ours_amount != line.c.amount), ReconClass.AMOUNT_MISMATCH.value),
        (sa.and_(line.c.status == SUCCESS, cp.c.status == ChannelPaymentStatus.SUCCESS), ReconClass.MATCHED.value),
        (sa.and_(line.c.status == FAILED, cp.c.status.in_(_OURS_FAILED)), ReconClass.MATCHED.value),
        else_=ReconClass.STATUS_MISMATCH.value)
    match_key = sa.case((occurrence > 0, line.c.channel_transaction_id + "#" + sa.cast(occurrence, sa.String)),
                        else_=line.c.channel_transaction_id)
    columns = ["run_id", "result_class", "match_key", "line_id", "channel_payment_id", "channel_amount",
               "our_amount", "channel_status", "our_status"]
    classified = (sa.select(sa.literal(run_id).label("run_id"), result_class.label("result_class"),
                            match_key.label("match_key"), line.c.id.label("line_id"),
                            cp.c.id.label("channel_payment_id"), line.c.amount.label("channel_amount"),
                            ours_amount.label("our_amount"), line.c.status.label("channel_status"),
                            cp.c.status.label("our_status"))
                  .select_from(line.outerjoin(cp, on)).subquery("c"))
    differences = sa.select(*[classified.c[name] for name in columns]).where(
        classified.c.result_class != ReconClass.MATCHED.value)
    db.session.execute(sa.insert(ReconciliationResult).from_select(columns, differences))
    matched = _matched(run_id, import_id)

    start, end = shanghai_day_bounds(day)
    ours = ChannelPayment.__table__.alias("o")
    listed = sa.exists(sa.select(1).select_from(StatementLine.__table__).where(
        StatementLine.import_id == import_id, StatementLine.line_type == PAYMENT_LINE,
        StatementLine.reference == ours.c.channel_payment_id))
    not_listed = (sa.select(sa.literal(run_id), sa.literal(ReconClass.MISSING_IN_CHANNEL.value),
                            ours.c.channel_payment_id, sa.null(), ours.c.id, sa.null(), held(ours), sa.null(),
                            ours.c.status)
                  .where(ours.c.channel_id == channel_id, ours.c.status == ChannelPaymentStatus.SUCCESS,
                         held(ours) > 0, ours.c.completed_at >= start, ours.c.completed_at < end, ~listed))
    db.session.execute(sa.insert(ReconciliationResult).from_select(columns, not_listed))
    return matched


def _matched(run_id: int, import_id: int) -> tuple[int, int]:
    """The MATCHED lines: the import's payment lines less those with a difference (count, cents)."""
    t, r = StatementLine.__table__, ReconciliationResult.__table__
    lines_n, lines_cents = db.session.execute(
        sa.select(sa.func.count(), cents_sum(t.c.amount))
        .where(t.c.import_id == import_id, t.c.line_type == PAYMENT_LINE)).one()
    diff_n, diff_cents = db.session.execute(
        sa.select(sa.func.count(), cents_sum(r.c.channel_amount))
        .where(r.c.run_id == run_id, r.c.line_id.is_not(None))).one()
    return int(lines_n) - int(diff_n), int(lines_cents) - int(diff_cents)
