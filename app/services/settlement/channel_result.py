"""Settlement: the one path that applies a channel payment's result to all of its transactions.

A callback, a compensation query, a voucher confirmation, an expiry or a cancel all end here.
Everything happens in the caller's transaction, under row locks taken in one global order so that
concurrent settlements cannot deadlock:

    channel payment -> payment orders (by id) -> reseller -> merged payment

A channel payment that is already final is left alone: duplicates and late results change nothing.
Events go out after each order's status is recomputed, so every payload shows the committed state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ...domain import numbers
from ...domain.enums import ChannelPaymentStatus, PaymentType, TransactionStatus, TransactionType, WalletEntryType
from ...domain.errors import NotFound
from ...domain.event_types import EventType
from ...domain.money import ZERO
from ...domain.payment_states import CHANNEL_PAYMENT_FINAL, EVENT_FOR_OUTCOME, next_channel_payment_status
from ...extensions import db
from ...metrics import SETTLEMENT_DELAY
from ...models import ChannelPayment, PaymentOrder, PaymentTransaction, Reseller
from ...models.types import REASON_LENGTH, now_utc
from ..alerts import kinds as alert_kinds
from ..alerts import raising as alerts
from ..alerts.thresholds import large_payment_amount
from ..audit import log as audit
from ..ledgers import credit_line, money_flows, wallet
from ..ledgers.wallet_memos import WalletMemo
from ..orders.status import apply_status
from ..platform import outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from .merged_status import refresh_merged_status
from .order_events import order_event


@dataclass(frozen=True)
class Outcome:
    status: ChannelPaymentStatus  # a final one: SUCCESS | FAILED | EXPIRED | CANCELLED
    reason: str = ""
    channel_transaction_id: str | None = None
    completed_at: datetime | None = None
    # WIRE: what finance saw arrive (a shortfall accepted is applied earliest deadline first).
    received_amount: Decimal | None = None


@dataclass(frozen=True)
class _Settling:
    """What every allocation of one channel payment is settled with."""

    cp: ChannelPayment
    outcome: Outcome
    now: datetime
    actor: Actor


def lock_channel_payment(cp_pk: int) -> ChannelPayment:
    cp = db.session.execute(sa.select(ChannelPayment).where(ChannelPayment.id == cp_pk).with_for_update()
                            ).scalar_one_or_none()
    if cp is None:
        raise NotFound("channel payment does not exist")
    return cp


def lock_orders(order_pks: set[int]) -> dict[int, PaymentOrder]:
    """The orders, locked in id order (the global lock order): two settlements of one order wait
    for each other instead of both adding to the ``paid_amount`` they read."""
    rows = db.session.scalars(
        sa.select(PaymentOrder).where(PaymentOrder.id.in_(order_pks)).order_by(PaymentOrder.id).with_for_update()
    ).all()
    return {o.id: o for o in rows}


def split_by_deadline(txns: list[PaymentTransaction], orders: dict[int, PaymentOrder],
                      received: Decimal) -> list[tuple[PaymentTransaction, Decimal]]:
    """How much of ``received`` each allocation gets, earliest payment deadline first."""
    far = datetime.max.replace(tzinfo=now_utc().tzinfo)

    def key(t: PaymentTransaction) -> tuple[datetime, int]:
        return orders[t.payment_order_id].payment_deadline or far, t.id

    left = received
    shares = []
    for t in sorted(txns, key=key):
        share = min(left, t.amount)
        shares.append((t, share))
        left -= share
    return shares


def apply(cp: ChannelPayment, outcome: Outcome, actor: Actor) -> bool:
    """Apply ``outcome`` to a locked channel payment. Returns False if it was already final."""
    if cp.status in CHANNEL_PAYMENT_FINAL:
        return False
    new_status = next_channel_payment_status(cp.status, EVENT_FOR_OUTCOME[ChannelPaymentStatus(outcome.status)])
    s = _Settling(cp, outcome, outcome.completed_at or now_utc(), actor)
    txns = list(db.session.scalars(
        sa.select(PaymentTransaction).where(PaymentTransaction.channel_payment_id == cp.id,
                                            PaymentTransaction.status == TransactionStatus.PROCESSING)
        .order_by(PaymentTransaction.id)
    ))
    orders = lock_orders({t.payment_order_id for t in txns})
    codes = dict(db.session.execute(sa.select(Reseller.id, Reseller.code).where(
        Reseller.id.in_({o.reseller_id for o in orders.values()}))).all())

    if outcome.status == ChannelPaymentStatus.SUCCESS:
        received = outcome.received_amount if outcome.received_amount is not None else cp.amount
        shares = split_by_deadline(txns, orders, min(received, cp.amount))
    else:
        shares = [(t, ZERO) for t in txns]

    # The events are built as each order's status is recomputed, so each payload is what commits; the
    # outbox writes them with the transaction's other events just before the commit.
    events = []
    for txn, share in shares:
        order = orders[txn.payment_order_id]
        order.reserved_amount -= txn.amount
        if share < txn.amount:
            # Not covered (a failed, expired or cancelled payment, or the uncovered part of a short wire).
            settled = _settle_part(s, txn, share, order)
        else:
            settled = [_succeed(s, txn, order)]
        order.updated_at = now_utc()
        order.version += 1
        apply_status(order, actor, f"{cp.channel_code} {outcome.status.lower()}")
        for event_type, t in settled:
            payload = order_event(order, codes[order.reseller_id], t, cp.channel_code)
            if event_type == EventType.TRANSACTION_FAILED:
                payload["reason"] = t.failure_reason
            events.append(outbox.event_row(event_type, "transaction", t.transaction_id, payload))
    outbox.insert_rows(events)

    cp.status = new_status
    cp.completed_at = s.now
    if outcome.completed_at is not None:  # the channel's own time: how late we learned it (the dashboard)
        cp.result_delay_ms = max(0, int((now_utc() - outcome.completed_at).total_seconds() * 1000))
        SETTLEMENT_DELAY.labels(cp.channel_kind, actor.type).observe(cp.result_delay_ms / 1000)
    if outcome.status == ChannelPaymentStatus.FAILED and cp.amount >= large_payment_amount():
        alerts.raise_alert(alert_kinds.LARGE_PAYMENT_FAILED, f"a payment of {cp.amount:.2f} failed",
                           subject=cp.channel_payment_id, payment=cp.channel_payment_id, channel=cp.channel_code,
                           amount=f"{cp.amount:.2f}", reason=outcome.reason[:200])
    cp.failure_reason = outcome.reason[:REASON_LENGTH] or cp.failure_reason
    if outcome.channel_transaction_id:
        cp.channel_transaction_id = cp.channel_transaction_id or outcome.channel_transaction_id
    if outcome.received_amount is not None:
        cp.received_amount = outcome.received_amount
        excess = outcome.received_amount - cp.amount
        if excess > 0:
            reseller_id = next(iter(orders.values())).reseller_id
            wallet.post(reseller_id, excess, WalletEntryType.EXCESS, reference=cp.channel_payment_id,
                        actor=actor.label, memo=WalletMemo.excess_of_wire(cp.wire_reference or cp.channel_payment_id))
    outbox.insert_rows([outbox.event_row(EventType.PAYMENT_ORDER_STATUS_CHANGED, "payment_order", order.payment_id,
                                         order_event(order, codes[order.reseller_id], channel_code=cp.channel_code))
                        for order in orders.values()])
    audit.record(actor, f"channel_payment.{outcome.status.lower()}", "channel_payment", cp.channel_payment_id,
                 None, {"amount": f"{cp.amount:.2f}", "received": f"{outcome.received_amount:.2f}"
                        if outcome.received_amount is not None else None, "reason": outcome.reason})
    refresh_merged_status(cp.merged_payment_id, actor)
    return True


def _succeed(s: _Settling, txn: PaymentTransaction, order: PaymentOrder) -> tuple[EventType, PaymentTransaction]:
    """The allocation is paid. Returns its event, emitted once the order's status is recomputed."""
    txn.status = TransactionStatus.SUCCESS
    txn.completed_at = s.now
    txn.channel_transaction_id = s.outcome.channel_transaction_id or s.cp.channel_transaction_id
    order.paid_amount += txn.amount
    order.last_attempt_failed = False
    money_flows.record(txn, order.payment_type)
    if order.payment_type == PaymentType.CREDIT_REPAYMENT:
        excess = credit_line.repay(order.related_business_id, txn.amount, reference=txn.transaction_id,
                                   actor=s.actor.label)
        if excess > 0:
            wallet.post(order.reseller_id, excess, WalletEntryType.EXCESS, reference=txn.transaction_id,
                        actor=s.actor.label, memo=WalletMemo.repayment_above_outstanding(order.related_business_id))
    return EventType.TRANSACTION_SUCCEEDED, txn


def _settle_part(s: _Settling, txn: PaymentTransaction, covered: Decimal,
                 order: PaymentOrder) -> list[tuple[EventType, PaymentTransaction]]:
    """The allocation is not (fully) paid: the covered part succeeds as its own transaction, the rest fails."""
    events = []
    if covered > 0:
        paid = PaymentTransaction(
            transaction_id=numbers.transaction_id(), payment_order_id=txn.payment_order_id, order_id=txn.order_id,
            reseller_id=txn.reseller_id, transaction_type=TransactionType.PAYMENT,
            status=TransactionStatus.PROCESSING, amount=covered, channel_id=txn.channel_id,
            channel_code=txn.channel_code, channel_kind=txn.channel_kind, channel_payment_id=txn.channel_payment_id,
            merged_payment_id=txn.merged_payment_id,
            remark=f"part of {txn.transaction_id} covered by the wire received",
        )
        db.session.add(paid)
        txn.amount -= covered
        db.session.flush()
        events.append(_succeed(s, paid, order))
    txn.status = TransactionStatus.FAILED
    txn.completed_at = s.now
    txn.failure_reason = (s.outcome.reason or s.outcome.status.lower())[:REASON_LENGTH]
    if s.outcome.status in (ChannelPaymentStatus.FAILED, ChannelPaymentStatus.SUCCESS):
        order.last_attempt_failed = order.paid_amount == 0
    events.append((EventType.TRANSACTION_FAILED, txn))
    return events


def settle(cp_pk: int, outcome: Outcome, actor: Actor) -> bool:
    """Lock and apply in a transaction of its own. Returns False for a duplicate or late result."""
    with transaction():
        return apply(lock_channel_payment(cp_pk), outcome, actor)
