"""Checkout (UC-PM-002/003): validate a reseller's allocations, then create the merged payment, its
channel payments and one PROCESSING transaction per allocation, reserving the amounts — all in one
transaction with the payment orders locked, so concurrent checkouts can never over-reserve.

``validate`` is also what the portal's live validation calls (without locks)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import ChannelKind, ChannelPaymentStatus, PaymentType
from ...domain.errors import ValidationFailed
from ...domain.money import MoneyFormatError, parse_money
from ...domain.order_status import is_payable_status
from ...domain.timeutil import shanghai_day_bounds, shanghai_today
from ...extensions import db
from ...models import Channel, ChannelPayment, MergedPayment, PaymentOrder, Reseller
from ..channel_config import lookup as channel_config
from ..ledgers import credit_line

ZERO = Decimal("0.00")
# Channel payments that took nothing: they do not count against a channel's daily limit.
DEAD_CHANNEL_PAYMENT = (ChannelPaymentStatus.FAILED, ChannelPaymentStatus.EXPIRED, ChannelPaymentStatus.CANCELLED)


@dataclass(frozen=True)
class AllocationIn:
    payment_id: str
    amount: object  # as typed: text, int or Decimal
    channel_code: str


@dataclass(frozen=True)
class RowProblem:
    index: int
    payment_id: str
    field: str  # order | amount | channel
    code: str
    message: str
    params: dict = dataclasses.field(default_factory=dict)  # the class's own "field" hides the function


class CheckoutRejected(ValidationFailed):
    def __init__(self, problems: list[RowProblem]):
        self.problems = problems
        super().__init__("; ".join(f"row {p.index + 1}: {p.message}" for p in problems),
                         errors=[{"field": f"allocations[{p.index}].{p.field}", "message": p.message,
                                  "code": p.code} for p in problems])


@dataclass
class PlannedRow:
    index: int
    order: PaymentOrder
    amount: Decimal
    channel: Channel


@dataclass
class Plan:
    rows: list[PlannedRow]
    total: Decimal
    by_channel: dict[int, list[PlannedRow]]


def _load_orders(reseller_id: int, payment_ids: list[str], lock: bool) -> dict[str, PaymentOrder]:
    stmt = (sa.select(PaymentOrder).where(PaymentOrder.payment_id.in_(payment_ids),
                                          PaymentOrder.reseller_id == reseller_id).order_by(PaymentOrder.id))
    if lock:
        stmt = stmt.with_for_update()
    return {o.payment_id: o for o in db.session.scalars(stmt)}


def spent_today(reseller_id: int, channel_id: int) -> Decimal:
    start, end = shanghai_day_bounds(shanghai_today())
    return Decimal(db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(ChannelPayment.amount), 0))
        .join(MergedPayment, MergedPayment.id == ChannelPayment.merged_payment_id)
        .where(MergedPayment.reseller_id == reseller_id, ChannelPayment.channel_id == channel_id,
               ChannelPayment.status.not_in(DEAD_CHANNEL_PAYMENT),
               ChannelPayment.created_at >= start, ChannelPayment.created_at < end)
    ).scalar_one())


def validate(reseller_id: int, rows: list[AllocationIn], *, lock: bool = False) -> Plan:
    """Check every row and every channel total; raise CheckoutRejected listing every problem."""
    problems: list[RowProblem] = []

    def problem(i: int, pid: str, fld: str, code: str, msg: str, **params: object) -> None:
        problems.append(RowProblem(i, pid, fld, code, msg, params))

    if not rows:
        raise CheckoutRejected([RowProblem(0, "", "order", "NO_ROWS", "select at least one payment order")])
    orders = _load_orders(reseller_id, [r.payment_id for r in rows], lock)
    reseller_stmt = sa.select(Reseller).where(Reseller.id == reseller_id)
    # Locked after the orders: the global lock order is orders, then reseller (see settlement);
    # FOR NO KEY UPDATE as ledgers.wallet.lock_reseller explains.
    reseller = db.session.scalars(reseller_stmt.with_for_update(key_share=True) if lock else reseller_stmt).one()
    channel_rows = {c.code: c for c in db.session.scalars(
        sa.select(Channel).where(Channel.code.in_({r.channel_code for r in rows})))}
    planned: list[PlannedRow] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        order = orders.get(row.payment_id)
        if order is None:
            problem(i, row.payment_id, "order", "ORDER_NOT_FOUND", "this payment order does not exist")
            continue
        if row.payment_id in seen:
            problem(i, row.payment_id, "order", "ORDER_DUPLICATE", "this payment order is listed twice")
            continue
        seen.add(row.payment_id)
        if not is_payable_status(order.payment_status):
            problem(i, row.payment_id, "order", "ORDER_NOT_PAYABLE",
                    f"a {order.payment_status} order cannot be paid", status=order.payment_status)
            continue
        try:
            amount = parse_money(row.amount)
        except MoneyFormatError as exc:
            problem(i, row.payment_id, "amount", "AMOUNT_FORMAT", f"amount {exc}")
            continue
        if amount <= 0:
            problem(i, row.payment_id, "amount", "AMOUNT_NOT_POSITIVE", "amount must be greater than 0")
            continue
        if amount > order.payable_amount:
            problem(i, row.payment_id, "amount", "AMOUNT_ABOVE_PAYABLE",
                    f"amount is more than the payable {order.payable_amount:.2f}", payable=order.payable_amount)
            continue
        channel = channel_rows.get(row.channel_code)
        if channel is None:
            problem(i, row.payment_id, "channel", "CHANNEL_UNKNOWN", "choose a payment channel")
            continue
        if not channel.enabled:
            problem(i, row.payment_id, "channel", "CHANNEL_DISABLED", f"channel {channel.code} is disabled")
            continue
        if channel_config.in_maintenance(channel):
            problem(i, row.payment_id, "channel", "CHANNEL_IN_MAINTENANCE",
                    f"channel {channel.code} is in its maintenance window")
            continue
        if not channel_config.is_available_to(channel, reseller_id):
            problem(i, row.payment_id, "channel", "CHANNEL_NOT_AVAILABLE",
                    f"channel {channel.code} is not available to your company")
            continue
        if channel.kind == ChannelKind.CREDIT and order.payment_type == PaymentType.CREDIT_REPAYMENT:
            problem(i, row.payment_id, "channel", "CREDIT_NOT_FOR_REPAYMENT",
                    "a credit repayment cannot be paid with credit")
            continue
        planned.append(PlannedRow(i, order, amount, channel))

    by_channel: dict[int, list[PlannedRow]] = defaultdict(list)
    for p in planned:
        by_channel[p.channel.id].append(p)
    for group in by_channel.values():
        ch = group[0].channel
        total = sum((p.amount for p in group), ZERO)

        def group_problem(code: str, msg: str, group: list[PlannedRow] = group, **params: object) -> None:
            for p in group:
                problem(p.index, p.order.payment_id, "channel", code, msg, **params)

        if total < ch.min_amount:
            group_problem("CHANNEL_BELOW_MIN", f"{ch.code} takes at least {ch.min_amount:.2f} per payment",
                          minimum=ch.min_amount)
        elif ch.max_amount is not None and total > ch.max_amount:
            group_problem("CHANNEL_ABOVE_MAX", f"{ch.code} takes at most {ch.max_amount:.2f} per payment",
                          maximum=ch.max_amount)
        elif ch.daily_limit_per_reseller is not None and \
                spent_today(reseller_id, ch.id) + total > ch.daily_limit_per_reseller:
            group_problem("CHANNEL_DAILY_LIMIT",
                          f"{ch.code} allows {ch.daily_limit_per_reseller:.2f} per day for your company",
                          limit=ch.daily_limit_per_reseller)
        elif ch.kind == ChannelKind.WALLET and total > reseller.wallet_balance:
            group_problem("WALLET_INSUFFICIENT", f"the wallet balance is {reseller.wallet_balance:.2f}",
                          balance=reseller.wallet_balance)
        elif ch.kind == ChannelKind.CREDIT and total > credit_line.available(reseller):
            group_problem("CREDIT_INSUFFICIENT", f"available credit is {credit_line.available(reseller):.2f}",
                          available=credit_line.available(reseller))
    if problems:
        raise CheckoutRejected(sorted(problems, key=lambda p: p.index))
    return Plan(planned, sum((p.amount for p in planned), ZERO), dict(by_channel))

