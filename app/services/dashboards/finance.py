"""The finance dashboard (docs/SCREENS.md ``/finance``): received, refunded and net today and this month,
by channel and by payment type, a 30-day trend, the payment success rate, the callback delay, open
vouchers, overdue orders and credit repayment timeliness. Read only, every reseller.

How it stays fast on a large data set (docs/ARCHITECTURE.md "The finance desk"): every figure is one
aggregate over an index range of the period, never a scan of all orders —

* money: the day rows of ``money_flow_days`` (``money_flows``: successful transactions by the
  Shanghai day of ``completed_at``, else ``created_at``, as the reports count it; channel; payment
  type), kept up to date by settlement itself — today, the month and the 30 days of the trend are one
  read of at most ~31 days of rows, never a scan of the transactions;
* success rate and callback delay: channel payments completed in the period
  (``ix_channel_payments_completed``); the delay is ``result_delay_ms``, stored when the result is
  applied (``settlement/channel_result.apply``), p95 by nearest rank (one sorted read of the period);
* open vouchers: ``ix_vouchers_status``; overdue orders: ``overdue`` (the open orders per deadline
  day, kept by triggers, plus today's read live on ``ix_payment_orders_status_deadline``);
  credit timeliness: ``ix_credit_records_due``;
* reconciliation: open exceptions counted on ``ix_recon_exceptions_state``, open (unidentified) bank
  receipts counted and summed on ``ix_bank_receipts_state`` — both only the OPEN rows, which finance
  works down to none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import (
    BankReceiptState,
    ChannelKind,
    ChannelPaymentStatus,
    ReconExceptionState,
    VoucherStatus,
)
from ...domain.timeutil import shanghai_day_bounds, shanghai_today, utcnow
from ...extensions import db
from ...models import (
    BankReceipt,
    ChannelPayment,
    CreditRecord,
    ReconciliationException,
    Voucher,
)
from ...models.types import UTCDateTime
from ..ledgers import money_flows
from ..statements.owed import ZERO, money
from . import overdue

TREND_DAYS = 30
# A payment attempt that ended: succeeded, or failed / expired at the channel. A CANCELLED one (the
# reseller cancelled, the approver rejected) never reached the channel and is left out of the rate.
ATTEMPT_ENDS = (ChannelPaymentStatus.SUCCESS, ChannelPaymentStatus.FAILED, ChannelPaymentStatus.EXPIRED)


@dataclass(frozen=True)
class Flow:
    key: str  # a channel code or a payment type
    received: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.received - self.refunded


@dataclass(frozen=True)
class Period:
    by_channel: list[Flow]
    by_type: list[Flow]

    @property
    def received(self) -> Decimal:
        return sum((f.received for f in self.by_channel), ZERO)

    @property
    def refunded(self) -> Decimal:
        return sum((f.refunded for f in self.by_channel), ZERO)

    @property
    def net(self) -> Decimal:
        return self.received - self.refunded


@dataclass(frozen=True)
class TrendDay:
    day: date
    received: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.received - self.refunded


@dataclass(frozen=True)
class SuccessRate:
    succeeded: int
    ended: int

    @property
    def percent(self) -> Decimal | None:
        if not self.ended:
            return None
        return (Decimal(100) * self.succeeded / self.ended).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Delay:
    count: int
    average_ms: int | None
    p95_ms: int | None


@dataclass(frozen=True)
class Timeliness:
    """Credit records falling due this month: repaid by the due date, repaid after it, still owed
    past it, and not yet due."""

    on_time: int
    late: int
    overdue: int
    not_due: int
    overdue_amount: Decimal


@dataclass(frozen=True)
class FinanceDashboard:
    today: date
    month_start: date
    today_flows: Period
    month_flows: Period
    trend: list[TrendDay]
    success_today: SuccessRate
    success_month: SuccessRate
    delay_today: Delay
    delay_month: Delay
    open_vouchers: int
    overdue_orders: int
    overdue_amount: Decimal
    credit: Timeliness
    open_exceptions: int
    open_receipts: int
    open_receipts_amount: Decimal


def _flows_and_trend(today: date, month_start: date) -> tuple[Period, Period, list[TrendDay]]:
    """(today, month, the 30-day trend) from the stored day rows (``money_flows``): one read of at most
    ~31 days x channels x payment types rows, whatever the number of transactions."""
    first = min(month_start, today - timedelta(days=TREND_DAYS - 1))
    rows = money_flows.stored(first, today)

    def period(since: date) -> Period:
        by: dict[str, dict[str, tuple[Decimal, Decimal]]] = {"channel": {}, "type": {}}
        for (day, channel, ptype), r in rows.items():
            if day < since:
                continue
            for name, key in (("channel", channel), ("type", ptype)):
                a, b = by[name].get(key, (ZERO, ZERO))
                by[name][key] = (a + r.received, b + r.refunded)
        return Period(*[[Flow(k, a, b) for k, (a, b) in sorted(by[name].items())] for name in ("channel", "type")])

    per_day: dict[date, tuple[Decimal, Decimal]] = {}
    for (day, _, _), r in rows.items():
        a, b = per_day.get(day, (ZERO, ZERO))
        per_day[day] = (a + r.received, b + r.refunded)
    days = [today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    return period(today), period(month_start), [TrendDay(d, *per_day.get(d, (ZERO, ZERO))) for d in days]


def _success(start: datetime, end: datetime) -> SuccessRate:
    cp = ChannelPayment
    row = db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.case((cp.status == ChannelPaymentStatus.SUCCESS, 1), else_=0)))
        .where(cp.completed_at >= start, cp.completed_at < end, cp.status.in_(ATTEMPT_ENDS))).one()
    return SuccessRate(int(row[1] or 0), int(row[0] or 0))


def _delay(start: datetime, end: datetime) -> Delay:
    """Of ONLINE channel payments completed in the period: average and p95 (nearest rank)."""
    cp = ChannelPayment
    where = (cp.completed_at >= start, cp.completed_at < end, cp.channel_kind == ChannelKind.ONLINE,
             cp.result_delay_ms.is_not(None))
    count, average = db.session.execute(sa.select(sa.func.count(), sa.func.avg(cp.result_delay_ms)).where(*where)).one()
    if not count:
        return Delay(0, None, None)
    rank = math.ceil(0.95 * count) - 1
    p95 = db.session.scalar(sa.select(cp.result_delay_ms).where(*where).order_by(cp.result_delay_ms)
                            .offset(rank).limit(1))
    return Delay(int(count), int(round(float(average))), int(p95 or 0))


def _timeliness(today: date, month_start: date) -> Timeliness:
    c = CreditRecord
    month_end = (month_start + timedelta(days=32)).replace(day=1)
    # Repaid before the end of the due day (Shanghai): its last change is the repayment that cleared it.
    days = (month_start + timedelta(days=i) for i in range((month_end - month_start).days))
    due_day_end = sa.case(*[(c.due_date == d, sa.literal(shanghai_day_bounds(d)[1], UTCDateTime())) for d in days])
    repaid = c.outstanding_amount <= 0
    row = db.session.execute(sa.select(
        sa.func.sum(sa.case((sa.and_(repaid, c.updated_at < due_day_end), 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(repaid, c.updated_at >= due_day_end), 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(sa.not_(repaid), c.due_date < today), 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(sa.not_(repaid), c.due_date >= today), 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(sa.not_(repaid), c.due_date < today), c.outstanding_amount), else_=0)),
    ).where(c.due_date >= month_start, c.due_date < month_end)).one()
    return Timeliness(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0), money(row[4]))


def _open_reconciliation() -> tuple[int, int, Decimal]:
    """(open reconciliation exceptions, open unidentified receipts, their amount)."""
    exceptions = db.session.scalar(sa.select(sa.func.count(ReconciliationException.id))
                                   .where(ReconciliationException.state == ReconExceptionState.OPEN)) or 0
    count, amount = db.session.execute(
        sa.select(sa.func.count(BankReceipt.id), sa.func.sum(BankReceipt.amount))
        .where(BankReceipt.state == BankReceiptState.OPEN)).one()
    return int(exceptions), int(count or 0), money(amount)


def finance_dashboard(today: date | None = None) -> FinanceDashboard:
    today = today or shanghai_today()
    month_start = today.replace(day=1)
    start = shanghai_day_bounds(month_start)[0]
    day_start, end = shanghai_day_bounds(today)
    today_flows, month_flows, trend = _flows_and_trend(today, month_start)
    overdue_count, overdue_amount = overdue.overdue(utcnow())
    open_exceptions, open_receipts, open_receipts_amount = _open_reconciliation()
    return FinanceDashboard(
        today=today, month_start=month_start, today_flows=today_flows, month_flows=month_flows,
        trend=trend,
        success_today=_success(day_start, end), success_month=_success(start, end),
        delay_today=_delay(day_start, end), delay_month=_delay(start, end),
        open_vouchers=db.session.scalar(sa.select(sa.func.count(Voucher.id))
                                        .where(Voucher.status == VoucherStatus.PENDING)) or 0,
        overdue_orders=overdue_count, overdue_amount=overdue_amount,
        credit=_timeliness(today, month_start),
        open_exceptions=open_exceptions, open_receipts=open_receipts, open_receipts_amount=open_receipts_amount,
    )
