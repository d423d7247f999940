"""The demo data set as a plan: which payment orders exist, how and when each was paid, refunded,
stopped or frozen, and which allocations were checked out together as one merged payment.

Pure Python (no database). Seeded generators (``random.Random(SEED)``, one more per order) drive
every choice, and every decision depends only on whole days before ``now``'s Shanghai date, so the
data set is the same on every run, whatever the time of day. ``demo_replay`` replays the plan in
time order and derives every amount and status from it, the way the services would.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from ..domain.enums import ChannelKind, OrderAction, PaymentType, Role
from ..domain.enums import ChannelPaymentStatus as CP
from ..domain.money import from_cents, to_cents
from ..domain.timeutil import SHANGHAI
from . import data as demo_data
from .plan_types import CreditPlan, MergedPlan, OrderPlan, Piece, Plan

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
# Allocations of one reseller this close in time may be checked out together as one merged payment.
WINDOW = 2 * DAY
TERM_DAYS = {r["code"]: r["credit_term_days"] for r in demo_data.RESELLERS}
THRESHOLDS = {r["code"]: r["approval_threshold"] for r in demo_data.RESELLERS}
# Resellers with an approver user; the others' checkouts stay below their approval threshold.
WITH_APPROVER = {u[2] for u in demo_data.USERS if u[1] == Role.RESELLER_APPROVER}

# scenario -> (payment attempts in order, what happens afterwards). An attempt is the channel payment
# status it ends in; PART pays a part of what is left; CREDIT is paid with the credit line; PENDING
# waits for the reseller's approver.
PART = f"{CP.SUCCESS}~"
SCENARIOS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "unpaid": ((), None),
    "paying": ((CP.PROCESSING,), None),
    "pending": ((CP.PENDING,), None),
    "failed": ((CP.FAILED,), None),
    "partial": ((PART,), None),
    "partial_paying": ((PART, CP.PROCESSING), None),
    "paid": ((CP.SUCCESS,), None),
    "credit": ((ChannelKind.CREDIT,), None),
    "paid_split": ((PART, CP.SUCCESS), None),
    "failed_then_paid": ((CP.FAILED, CP.SUCCESS), None),
    "refund_partial": ((CP.SUCCESS,), "refund_partial"),
    "refund_full": ((CP.SUCCESS,), "refund_full"),
    "stopped": ((), OrderAction.STOP),
    "stopped_partial": ((PART,), OrderAction.STOP),
    "frozen": ((), OrderAction.FREEZE),
    "frozen_partial": ((PART,), OrderAction.FREEZE),
}
UNSETTLED = (CP.PROCESSING, CP.PENDING)  # attempts still open when the data set is made
PAID_LIKE = {"paid", "credit", "paid_split", "failed_then_paid", "refund_partial", "refund_full"}


def build_plan(now: datetime) -> Plan:
    """Every decision depends only on whole days before ``now``'s Shanghai date (never on the time
    of day), and each order draws from a generator of its own, so the set is the same on every run."""
    rng = random.Random(demo_data.SEED)
    today = _day(now)
    orders: list[OrderPlan] = []
    for business in _business_orders(rng, today):
        orders.extend(business)
    for o in orders:
        _expand(_rng_for(o), o, today)
    merged = _schedule(rng, orders, now)
    credits = [CreditPlan(f"CR{_day(p.settled_at):%Y%m%d}{rng.randrange(10**12):012d}", o, p, o.repayment)
               for o in orders for p in o.pieces if p.channel == ChannelKind.CREDIT]
    repayments = [_repayment_order(_rng_for(c.order, "repay"), c, c.repayment) for c in credits if c.repayment]
    merged += _schedule(rng, repayments, now)
    orders += repayments
    for o in orders:
        _plan_extra(_rng_for(o, "extra"), o, now)
    return Plan(orders, merged, credits)


def _rng_for(o: OrderPlan, purpose: str = "") -> random.Random:
    return random.Random(f"{demo_data.SEED}:{o.order_id}:{o.payment_type}:{purpose}")


def _day(t: datetime) -> date:
    return t.astimezone(SHANGHAI).date()


def _at(rng: random.Random, day: date, start: int = 9, end: int = 17) -> datetime:
    """A time during business hours of a Shanghai day, in UTC."""
    clock = time(rng.randint(start, end), rng.randint(0, 59), rng.randint(0, 59))
    return datetime.combine(day, clock, SHANGHAI).astimezone(UTC)


def _deadline(created: datetime, days: int) -> datetime:
    return datetime.combine(_day(created) + timedelta(days=days), time(18, 0), SHANGHAI).astimezone(UTC)


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    return from_cents(rng.randint(low, high))


def _part(rng: random.Random, amount: Decimal, low: int = 25, high: int = 60) -> Decimal:
    cents = to_cents(amount)
    return from_cents(max(1, rng.randint(cents * low // 100, cents * high // 100)))


def _business_orders(rng: random.Random, today: date) -> list[list[OrderPlan]]:
    """Business orders (contracts) with their ADVANCE (30%), FINAL (70%, once production is done)
    and sometimes OTHER_FEE payment orders, numbered in the order they were signed."""
    # (reseller, days ago, forced advance scenario, (days ago paid with credit, repayment), value range)
    specs: list[tuple[str, int, str | None, tuple[int, str | None] | None, tuple[int, int]]] = []
    for days, repay in demo_data.CREDIT_SHOWCASE:
        specs.append(("R1001", days + rng.randint(1, 3), "credit", (days, repay), (1_000_000, 4_500_000)))
    for scenario in demo_data.SHOWCASE:
        low = 4_000_000 if scenario == "pending" else 300_000
        specs.append(("R1001", rng.randint(30, 85), scenario, None, (low, 11_000_000)))
    for code, count in demo_data.BUSINESS_ORDERS.items():
        forced = len(specs) if code == "R1001" else 0
        specs += [(code, rng.randint(3, 90), None, None, (300_000, 11_000_000)) for _ in range(count - forced)]
    numbers = sorted(rng.sample(range(100_000, 1_000_000), len(specs)))
    result = []
    for number, spec in zip(numbers, sorted(specs, key=lambda s: -s[1]), strict=True):
        order_id = f"SO2026{number:06d}"
        result.append(_business_order(random.Random(f"{demo_data.SEED}:{order_id}"), today, order_id, *spec))
    return result


def _business_order(rng: random.Random, today: date, order_id: str, code: str, days_ago: int, forced: str | None,
                    credit: tuple[int, str | None] | None, value_range: tuple[int, int]) -> list[OrderPlan]:
    line, product, specs = rng.choice(demo_data.PRODUCTS)
    spec, qty, customer = rng.choice(specs), rng.choice((1, 1, 2, 3)), rng.choice(demo_data.CUSTOMERS)
    low, high = value_range
    value = int(math.exp(rng.uniform(math.log(low * 100), math.log(high * 100))))
    advance = value * 30 // 100
    tags = {"line": line, "region": demo_data.REGIONS[code], "contract": f"HT-{order_id[2:]}"}
    created = _at(rng, today - timedelta(days=days_ago))
    adv = OrderPlan(code, order_id, PaymentType.ADVANCE_PAYMENT, from_cents(advance), created,
                    _deadline(created, rng.randint(7, 20)),
                    f"{customer}{product}（{spec}）×{qty}台 定制合同预付款（30%）", dict(tags), priority=1)
    if rng.random() < 0.3:
        adv.expire_date = _day(adv.deadline) + timedelta(days=30)
    orders = [adv]
    final_day = _day(created) + timedelta(days=rng.randint(5, 60))
    if final_day < today:
        t = _at(rng, final_day)
        orders.append(OrderPlan(code, order_id, PaymentType.FINAL_PAYMENT, from_cents(value - advance), t,
                                _deadline(t, rng.randint(10, 30)),
                                f"{product}（{spec}）×{qty}台 出厂验收合格后尾款（70%）", dict(tags)))
    fee_day = _day(created) + timedelta(days=rng.randint(0, 30))
    if (rng.random() < 0.35 or forced == "paid") and fee_day < today:
        t = _at(rng, fee_day)
        fee = rng.choice(demo_data.FEES)
        orders.append(OrderPlan(code, order_id, PaymentType.OTHER_FEE, _cents(rng, 5_000_000, 38_000_000), t,
                                _deadline(t, rng.randint(15, 30)), f"{fee}（{product}，合同 {tags['contract']}）",
                                dict(tags), priority=rng.choice((0, 0, 2))))
    for o in orders:
        o.scenario = _scenario(rng, o, today, forced if o is adv else None, adv.scenario)
    if credit:  # paid in full with the credit line on a fixed day
        paid_days, adv.repayment = credit
        adv.pieces.append(Piece(adv, CP.SUCCESS, adv.amount, ChannelKind.CREDIT,
                                _at(rng, today - timedelta(days=paid_days))))
    return orders


def _min_age(scenario: str) -> int:
    """Days an order must exist before this scenario fits (attempts 5+ days apart, the last settled
    5+ days ago, then time for a refund, STOP or FREEZE)."""
    attempts, extra = SCENARIOS[scenario]
    settled = [a for a in attempts if a not in UNSETTLED]
    age = {0: 1, 1: 6, 2: 28}[len(settled)] if scenario != "unpaid" else 0
    return age + (2 if extra else 0)


def _scenario(rng: random.Random, o: OrderPlan, today: date, forced: str | None, advance: str) -> str:
    if forced:
        return forced
    if o.payment_type == PaymentType.FINAL_PAYMENT and advance not in PAID_LIKE:
        weights = {"stopped": 1} if advance.startswith("stopped") else {"unpaid": 8, "frozen": 2}
    else:
        weights = demo_data.WEIGHTS[o.payment_type]
    age = (today - _day(o.created)).days
    names = [s for s in weights if _min_age(s) <= age] or ["unpaid"]
    return rng.choices(names, weights=[weights.get(s, 1) for s in names])[0]


def _channel(rng: random.Random, reseller: str, outcome: str, amount: Decimal, refundable: bool) -> str:
    if outcome == CP.PROCESSING:
        return "WIRE_ICBC"  # waiting for the reseller's voucher
    if outcome == CP.PENDING:
        return "ONLINE_UNIONPAY"
    options = {"ONLINE_UNIONPAY": 35, "ONLINE_EBANK": 15, "ONLINE_ALIPAY_B2B": 25, "WIRE_ICBC": 30, "WALLET": 18}
    only = {c["code"]: c.get("only_for") for c in demo_data.CHANNELS}
    wallets = {r["code"] for r in demo_data.RESELLERS if r["opening_topup"]}

    def allowed(code: str) -> bool:
        cap, kind, only_for = demo_data.CHANNEL_MAX[code], demo_data.CHANNEL_KIND[code], only[code]
        return ((cap is None or amount <= cap) and (only_for is None or reseller in only_for)
                and (kind != ChannelKind.WALLET or (reseller in wallets and amount <= Decimal("1500000.00")))
                and (outcome != CP.FAILED or kind == ChannelKind.ONLINE)
                and (not refundable or kind in (ChannelKind.ONLINE, ChannelKind.WALLET)))

    names = [c for c in options if allowed(c)]
    return rng.choices(names, weights=[options[c] for c in names])[0]


def _expand(rng: random.Random, o: OrderPlan, today: date) -> None:
    """The order's payment attempts with their amounts and planned days, spread between its
    creation and five days ago (settled attempts); attempts still in flight are timed later."""
    if o.pieces:  # planned explicitly (credit)
        return
    attempts, o.extra = SCENARIOS[o.scenario]
    settled = [a for a in attempts if a not in UNSETTLED]
    start = _day(o.created) + timedelta(days=1)
    seg = max((today - timedelta(days=5) - start).days, 0) / max(len(settled), 1)
    remaining, i = o.amount, 0
    for attempt in attempts:
        outcome = CP.SUCCESS if attempt == PART else attempt
        amount = _part(rng, remaining) if attempt == PART else remaining
        at = None
        if outcome in (CP.SUCCESS, CP.FAILED):  # resellers pay during office hours
            at, i = _at(rng, start + timedelta(days=int(seg * (i + rng.uniform(0, 0.4)))), 9, 16), i + 1
        channel = _channel(rng, o.reseller, outcome, amount, (o.extra or "").startswith("refund"))
        o.pieces.append(Piece(o, outcome, amount, channel, at))
        if outcome == CP.SUCCESS:
            remaining -= amount


def _schedule(rng: random.Random, orders: list[OrderPlan], now: datetime) -> list[MergedPlan]:
    """Round by round (every order's first attempt, then second, ...): fix each attempt's time
    after the previous one settled, group attempts into merged payments, settle them."""
    merged: list[MergedPlan] = []
    for r in range(max((len(o.pieces) for o in orders), default=0)):
        batch = []
        for o in orders:
            if r >= len(o.pieces):
                continue
            p = o.pieces[r]
            lower = (o.pieces[r - 1].settled_at if r else o.created) + 6 * HOUR
            if p.outcome == CP.PENDING:
                p.at = max(lower, now - 2 * HOUR)
            elif p.at is None:
                p.at = max(lower, now - rng.uniform(2, 72) * HOUR)
            else:
                p.at = max(p.at, lower)
            batch.append(p)
        merged += _group(rng, batch, now)
    return merged


def _group(rng: random.Random, pieces: list[Piece], now: datetime) -> list[MergedPlan]:
    buckets: dict[tuple[str, str], list[Piece]] = {}
    for p in pieces:
        buckets.setdefault((p.order.reseller, p.outcome), []).append(p)
    out = []
    for key in sorted(buckets):
        group: list[Piece] = []
        size = 1
        for p in sorted(buckets[key], key=lambda p: (p.at, p.order.order_id, p.order.payment_type)):
            if group and not _fits(group, p, size):
                out.append(_close(rng, group, now))
                group = []
            if not group:
                size = 1 if key[1] == CP.PENDING else rng.choice((1, 1, 2, 2, 3, 4))
            group.append(p)
        if group:
            out.append(_close(rng, group, now))
    return out


def _fits(group: list[Piece], p: Piece, size: int) -> bool:
    if len(group) >= size or p.submit_at - group[0].submit_at > WINDOW or any(q.order is p.order for q in group):
        return False
    cap = demo_data.CHANNEL_MAX[p.channel]
    same_channel = sum((q.amount for q in group if q.channel == p.channel), p.amount)
    total = sum((q.amount for q in group), p.amount)
    reseller = p.order.reseller
    return (cap is None or same_channel <= cap) and (reseller in WITH_APPROVER or total <= THRESHOLDS[reseller])


def _close(rng: random.Random, group: list[Piece], now: datetime) -> MergedPlan:
    submitted = max(p.submit_at for p in group) + rng.uniform(0, 2) * HOUR
    if group[0].outcome in UNSETTLED:
        submitted = min(submitted, now - HOUR)
    m = MergedPlan(group[0].order.reseller, submitted, submitted, group)
    if m.total > THRESHOLDS[m.reseller] and group[0].outcome != CP.PENDING:
        m.approved = True
        m.created = submitted - rng.uniform(0.5, 4) * HOUR
    for code, pieces in m.by_channel().items():
        kind = demo_data.CHANNEL_KIND[code]
        delay = {ChannelKind.WALLET: 0.0, ChannelKind.CREDIT: 0.0, ChannelKind.ONLINE: rng.uniform(1, 15) / 60,
                 ChannelKind.WIRE: rng.uniform(4, 48)}[kind]
        for p in pieces:
            if p.outcome in (CP.SUCCESS, CP.FAILED):
                p.settled = min(submitted + (delay * HOUR if delay else timedelta(seconds=2)), now - HOUR)
    return m


def _repayment_order(rng: random.Random, c: CreditPlan, repayment: str) -> OrderPlan:
    """The credit system's CREDIT_REPAYMENT order for a credit record: amount = what is owed,
    deadline = the record's due date."""
    offset, attempts = demo_data.REPAYMENTS[repayment]
    paid_at = c.piece.settled_at
    created = _at(rng, _day(paid_at + offset * DAY))
    src = c.order
    due = _day(paid_at) + timedelta(days=TERM_DAYS[src.reseller])
    o = OrderPlan(src.reseller, src.order_id, PaymentType.CREDIT_REPAYMENT, src.amount, created,
                  datetime.combine(due, time(18, 0), SHANGHAI).astimezone(UTC),
                  f"信用额度还款：信用记录 {c.record_id}（订单 {src.order_id}）",
                  {"line": src.tags["line"], "region": src.tags["region"]}, scenario=f"repay_{repayment}",
                  priority=1, related_id=c.record_id)
    remaining = o.amount
    for outcome, share, channel, days in attempts:
        amount = _part(rng, remaining, 40, 60) if share == "part" else remaining
        at = _at(rng, _day(paid_at + days * DAY)) if days is not None else None
        o.pieces.append(Piece(o, outcome, amount, channel, at))
        if outcome == CP.SUCCESS:
            remaining -= amount
    return o


def _plan_extra(rng: random.Random, o: OrderPlan, now: datetime) -> None:
    """When a refund, STOP or FREEZE happens: after the last payment settled."""
    if not o.extra:
        return
    last = max((p.settled for p in o.pieces if p.settled), default=o.created)
    o.extra_at = last + (now - last) * rng.uniform(0.2, 0.7)
    paid = sum((p.amount for p in o.pieces if p.outcome == CP.SUCCESS), Decimal("0.00"))
    if o.extra == "refund_full":
        o.extra_amount, o.extra_reason = paid, rng.choice(demo_data.FULL_REFUND_REASONS)
    elif o.extra == "refund_partial":
        o.extra_amount, o.extra_reason = _part(rng, paid, 5, 30), rng.choice(demo_data.REFUND_REASONS)
    else:
        o.extra_reason = rng.choice(demo_data.STOP_REASONS if o.extra == OrderAction.STOP else demo_data.FREEZE_REASONS)
