"""Settlement: the one path that applies a channel payment's result to all of its transactions.

A callback, a compensation query, a voucher confirmation, an expiry or a cancel all end here.
Everything happens in the caller's transaction, under row locks taken in one global order so that
concurrent settlements cannot deadlock:

    channel payment -> payment orders (by id) -> reseller -> merged payment

A channel payment that is already final is left alone: duplicates and late results change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ..domain.enums import ChannelPaymentStatus, MergedPaymentStatus, PaymentType
from ..domain.errors import NotFound
from ..domain.timeutil import to_shanghai_iso
from ..extensions import db
from ..models import ChannelPayment, MergedPayment, PaymentOrder, PaymentTransaction, Reseller
from ..models.types import now_utc
from . import audit, credit_line, ids, outbox, wallet
from .actor import Actor
from .payment_orders import apply_status
from .tx import transaction

ZERO = Decimal("0.00")
FINAL = frozenset({"SUCCESS", "FAILED", "EXPIRED", "CANCELLED"})


@dataclass(frozen=True)
class Outcome:
    status: str  # SUCCESS | FAILED | EXPIRED | CANCELLED
    reason: str = ""
    channel_transaction_id: str | None = None
    completed_at: datetime | None = None
    # WIRE: what finance saw arrive, and whether a shortfall is accepted (applied earliest deadline first).
    received_amount: Decimal | None = None


def lock_channel_payment(cp_pk: int) -> ChannelPayment:
    cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.id == cp_pk).with_for_update())
    if cp is None:
        raise NotFound("channel payment does not exist")
    return cp


def _lock_orders(order_pks: set[int]) -> dict[int, PaymentOrder]:
    rows = db.session.scalars(
        sa.select(PaymentOrder).where(PaymentOrder.id.in_(order_pks)).order_by(PaymentOrder.id).with_for_update()
    ).all()
    return {o.id: o for o in rows}


def order_event(order: PaymentOrder, reseller_code: str, txn: PaymentTransaction | None = None,
                channel_code: str | None = None) -> dict:
    """The seed contract of order-system notifications."""
    return {
        "paymentId": order.payment_id, "orderId": order.order_id, "resellerId": reseller_code,
        "paymentStatus": order.payment_status, "paymentType": order.payment_type,
        "paymentAmount": f"{order.payment_amount:.2f}", "paidAmount": f"{order.paid_amount:.2f}",
        "remainingAmount": f"{order.remaining_amount:.2f}", "reservedAmount": f"{order.reserved_amount:.2f}",
        "paymentTime": to_shanghai_iso(txn.completed_at) if txn is not None else None,
        "channelInfo": {"channel": channel_code or (txn.channel_code if txn is not None else None),
                        "channelTransactionId": txn.channel_transaction_id if txn is not None else None},
        "transactionId": txn.transaction_id if txn is not None else None,
    }


def _split_by_deadline(txns: list[PaymentTransaction], orders: dict[int, PaymentOrder],
                       received: Decimal) -> list[tuple[PaymentTransaction, Decimal]]:
    """How much of ``received`` each allocation gets, earliest payment deadline first."""
    far = datetime.max.replace(tzinfo=now_utc().tzinfo)

    def key(t):
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
    if cp.status in FINAL:
        return False
    now = outcome.completed_at or now_utc()
    txns = list(db.session.scalars(
        sa.select(PaymentTransaction).where(PaymentTransaction.channel_payment_id == cp.id,
                                            PaymentTransaction.status == "PROCESSING")
        .order_by(PaymentTransaction.id)
    ))
    orders = _lock_orders({t.payment_order_id for t in txns})
    codes = dict(db.session.execute(sa.select(Reseller.id, Reseller.code).where(
        Reseller.id.in_({o.reseller_id for o in orders.values()}))).all())

    if outcome.status == "SUCCESS":
        received = outcome.received_amount if outcome.received_amount is not None else cp.amount
        shares = _split_by_deadline(txns, orders, min(received, cp.amount))
    else:
        shares = [(t, ZERO) for t in txns]

    for txn, share in shares:
        order = orders[txn.payment_order_id]
        order.reserved_amount -= txn.amount
        if share < txn.amount:
            # Not covered (a failed, expired or cancelled payment, or the uncovered part of a short wire).
            _settle_part(txn, share, order, cp, outcome, now, actor, codes[order.reseller_id])
        else:
            _succeed(txn, order, cp, outcome, now, actor, codes[order.reseller_id])
        order.updated_at = now_utc()
        order.version += 1
        apply_status(order, actor, f"{cp.channel_code} {outcome.status.lower()}")

    cp.status = ChannelPaymentStatus.SUCCESS.value if outcome.status == "SUCCESS" else outcome.status
    cp.completed_at = now
    cp.failure_reason = outcome.reason or cp.failure_reason
    if outcome.channel_transaction_id:
        cp.channel_transaction_id = cp.channel_transaction_id or outcome.channel_transaction_id
    if outcome.received_amount is not None:
        cp.received_amount = outcome.received_amount
        excess = outcome.received_amount - cp.amount
        if excess > 0:
            reseller_id = next(iter(orders.values())).reseller_id
            wallet.post(reseller_id, excess, "EXCESS", reference=cp.channel_payment_id, actor=actor.label,
                        memo=f"excess of wire {cp.wire_reference}")
    for order in orders.values():
        outbox.emit("payment_order.status_changed", "payment_order", order.payment_id,
                    order_event(order, codes[order.reseller_id], channel_code=cp.channel_code))
    audit.record(actor, f"channel_payment.{outcome.status.lower()}", "channel_payment", cp.channel_payment_id,
                 None, {"amount": f"{cp.amount:.2f}", "received": f"{outcome.received_amount:.2f}"
                        if outcome.received_amount is not None else None, "reason": outcome.reason})
    refresh_merged_status(cp.merged_payment_id, actor)
    return True


def _succeed(txn, order, cp, outcome, now, actor, reseller_code):
    txn.status = "SUCCESS"
    txn.completed_at = now
    txn.channel_transaction_id = outcome.channel_transaction_id or cp.channel_transaction_id
    order.paid_amount += txn.amount
    order.last_attempt_failed = False
    if order.payment_type == PaymentType.CREDIT_REPAYMENT:
        excess = credit_line.repay(order.related_business_id, txn.amount, reference=txn.transaction_id,
                                   actor=actor.label)
        if excess > 0:
            wallet.post(order.reseller_id, excess, "EXCESS", reference=txn.transaction_id, actor=actor.label,
                        memo=f"repayment above outstanding on {order.related_business_id}")
    outbox.emit("transaction.succeeded", "transaction", txn.transaction_id,
                order_event(order, reseller_code, txn, cp.channel_code))


def _settle_part(txn, covered, order, cp, outcome, now, actor, reseller_code):
    """The allocation is not (fully) paid: the covered part succeeds as its own transaction, the rest fails."""
    if covered > 0:
        paid = PaymentTransaction(
            transaction_id=ids.transaction_id(), payment_order_id=txn.payment_order_id, order_id=txn.order_id,
            reseller_id=txn.reseller_id, transaction_type="PAYMENT", status="PROCESSING", amount=covered,
            channel_id=txn.channel_id, channel_code=txn.channel_code, channel_kind=txn.channel_kind,
            channel_payment_id=txn.channel_payment_id, merged_payment_id=txn.merged_payment_id,
            remark=f"part of {txn.transaction_id} covered by the wire received",
        )
        db.session.add(paid)
        txn.amount -= covered
        db.session.flush()
        _succeed(paid, order, cp, outcome, now, actor, reseller_code)
    txn.status = "FAILED"
    txn.completed_at = now
    txn.failure_reason = (outcome.reason or outcome.status.lower())[:500]
    if outcome.status in ("FAILED", "SUCCESS"):
        order.last_attempt_failed = order.paid_amount == 0
    outbox.emit("transaction.failed", "transaction", txn.transaction_id,
                {**order_event(order, reseller_code, txn, cp.channel_code), "reason": txn.failure_reason})


def refresh_merged_status(merged_pk: int, actor: Actor) -> None:
    mp = db.session.scalar(sa.select(MergedPayment).where(MergedPayment.id == merged_pk).with_for_update())
    statuses = [s for (s,) in db.session.execute(
        sa.select(ChannelPayment.status).where(ChannelPayment.merged_payment_id == merged_pk))]
    if any(s not in FINAL for s in statuses):
        return
    if all(s == "SUCCESS" for s in statuses):
        new = MergedPaymentStatus.SUCCEEDED
    elif any(s == "SUCCESS" for s in statuses):
        new = MergedPaymentStatus.PARTIALLY_SUCCEEDED
    elif all(s == "CANCELLED" for s in statuses):
        new = MergedPaymentStatus.CANCELLED
    elif all(s == "EXPIRED" for s in statuses):
        new = MergedPaymentStatus.EXPIRED
    else:
        new = MergedPaymentStatus.FAILED
    if mp.status != new.value:
        old = mp.status
        mp.status = new.value
        mp.completed_at = now_utc()
        audit.record(actor, "merged_payment.status", "merged_payment", mp.merged_payment_id,
                     {"status": old}, {"status": new.value})
        outbox.emit("merged_payment.completed", "merged_payment", mp.merged_payment_id,
                    {"mergedPaymentId": mp.merged_payment_id, "status": new.value,
                     "totalAmount": f"{mp.total_amount:.2f}"})


def settle(cp_pk: int, outcome: Outcome, actor: Actor) -> bool:
    """Lock and apply in a transaction of its own. Returns False for a duplicate or late result."""
    with transaction():
        return apply(lock_channel_payment(cp_pk), outcome, actor)
