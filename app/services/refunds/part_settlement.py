"""Settling a refund part (docs/DOMAIN.md §3, §6, §7): the one path by which a PROCESSING REFUND
transaction becomes SUCCESS or FAILED, whatever said so (WALLET/CREDIT at once, the gateway's
answer, callback or query, a payout's final state, finance's MANUAL settlement). It moves the
amount from ``refunding`` to ``refunded`` (or back, on failure) on the original transaction and on
the order, brings back the debt of a refunded credit repayment, recomputes the order's refund status
and the refund's own status, and writes ``refund.succeeded|failed`` (one per part) and an audit
entry. Idempotent: a part already final is left as it is. Lock order:
refund transaction -> payment order -> original transaction -> reseller -> credit record.

Areas that react to a refund reaching its final state without this area importing them (the refund
receipt of ``services/documents``) register with ``on_refund_final`` (``services/connections.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import PaymentType, RefundOrderStatus, TransactionStatus, TransactionType
from ...domain.errors import NotFound
from ...domain.event_types import EventType
from ...domain.money import money_str
from ...domain.timeutil import to_shanghai_iso
from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction, Refund, Reseller
from ...models.types import now_utc
from ..audit import log as audit
from ..ledgers import money_flows
from ..orders.status import apply_refund_status
from ..platform import outbox
from ..platform.actor import SYSTEM, Actor
from ..platform.unit_of_work import transaction
from . import credit as refund_credit

ZERO = Decimal("0.00")
# A refund part that holds its amount: succeeded, or still in flight.
LIVE_PART = (TransactionStatus.SUCCESS, TransactionStatus.PROCESSING)
# The final states in which money went back to the reseller.
REFUNDED = (RefundOrderStatus.SUCCESS, RefundOrderStatus.PARTIALLY_FAILED)
_final_handlers: list[Callable[[Refund], None]] = []


def on_refund_final(handler: Callable[[Refund], None]) -> None:
    """Call ``handler(refund)`` in the settling transaction whenever a refund becomes SUCCESS or
    PARTIALLY_FAILED (again, after a retried part); registering it twice keeps one."""
    if handler not in _final_handlers:
        _final_handlers.append(handler)


def reseller_code(reseller_id: int) -> str:
    return db.session.scalars(sa.select(Reseller.code).where(Reseller.id == reseller_id)).one()


def apply(part: PaymentTransaction, order: PaymentOrder, orig: PaymentTransaction, status: str, reason: str,
           actor: Actor, reseller_code: str) -> None:
    amount = -part.amount
    now = now_utc()
    part.status = status
    part.completed_at = now
    orig.refunding_amount -= amount
    order.refunding_amount -= amount
    refund = db.session.get_one(Refund, part.refund_id)
    if status == TransactionStatus.SUCCESS:
        orig.refunded_amount += amount
        order.refunded_amount += amount
        order.last_refund_failed = False
        money_flows.record(part, order.payment_type)
        if order.payment_type == PaymentType.CREDIT_REPAYMENT:
            refund_credit.reverse_repayment(part, order, orig, refund, actor)
    else:
        part.failure_reason = (reason or "refund failed")[:500]
        order.last_refund_failed = True
    order.updated_at = now
    order.version += 1
    apply_refund_status(order, actor, f"refund part {part.transaction_id} {status.lower()}")
    refresh_refund_status(refund)
    payload = {**refund_event(refund, order, reseller_code), "transactionId": part.transaction_id,
               "transactionAmount": money_str(amount), "channelInfo": {
                   "channel": part.channel_code, "channelTransactionId": part.channel_transaction_id},
               "reason": part.failure_reason}
    event_type = EventType.REFUND_SUCCEEDED if status == TransactionStatus.SUCCESS else EventType.REFUND_FAILED
    outbox.emit(event_type, "refund", refund.refund_id, payload)
    audit.record(actor, f"refund_part.{status.lower()}", "transaction", part.transaction_id, None,
                 {"amount": money_str(amount), "refundOrderId": refund.refund_order_id, "reason": reason or None})


def refresh_refund_status(refund: Refund) -> None:
    """PROCESSING while a part is; SUCCESS when the whole amount succeeded; FAILED when nothing did."""
    rows = db.session.execute(sa.select(PaymentTransaction.status, PaymentTransaction.amount).where(
        PaymentTransaction.refund_id == refund.id)).all()
    succeeded = -sum((a for s, a in rows if s == TransactionStatus.SUCCESS), ZERO)
    if any(s == TransactionStatus.PROCESSING for s, _ in rows):
        new = RefundOrderStatus.PROCESSING
    elif succeeded >= refund.amount:
        new = RefundOrderStatus.SUCCESS
    elif succeeded == 0:
        new = RefundOrderStatus.FAILED
    else:
        new = RefundOrderStatus.PARTIALLY_FAILED
    old = refund.status
    refund.status = new
    refund.completed_at = None if new == RefundOrderStatus.PROCESSING else (refund.completed_at or now_utc())
    if new in REFUNDED and old != new:
        for handler in _final_handlers:
            handler(refund)


def refund_event(refund: Refund, order: PaymentOrder, reseller_code: str) -> dict:
    return {"refundId": refund.refund_id, "refundOrderId": refund.refund_order_id, "paymentId": order.payment_id,
            "orderId": order.order_id, "resellerId": reseller_code, "refundAmount": money_str(refund.amount),
            "refundStatus": refund.status, "orderRefundStatus": order.refund_status,
            "paidAmount": money_str(order.paid_amount), "refundedAmount": money_str(order.refunded_amount),
            "completedAt": to_shanghai_iso(refund.completed_at)}


def lock_part(txn_pk: int) -> PaymentTransaction:
    t = db.session.scalar(sa.select(PaymentTransaction).where(PaymentTransaction.id == txn_pk).with_for_update())
    if t is None or t.transaction_type != TransactionType.REFUND:
        raise NotFound("refund transaction does not exist")
    return t


def apply_part_outcome(part: PaymentTransaction, status: str, reason: str, actor: Actor,
                       channel_refund_id: str | None = None) -> bool:
    """Apply a final result to a locked part (in the caller's transaction). False if already final.
    ``status``: SUCCESS or FAILED in the words of whoever settles it (the gateway, a payout)."""
    final = (TransactionStatus.SUCCESS, TransactionStatus.FAILED)
    if part.status != TransactionStatus.PROCESSING or status not in final:
        return False
    status = TransactionStatus(status)
    order = db.session.scalars(sa.select(PaymentOrder).where(PaymentOrder.id == part.payment_order_id)
                               .with_for_update()).one()
    orig = db.session.scalars(sa.select(PaymentTransaction).where(
        PaymentTransaction.id == part.original_transaction_id).with_for_update()).one()
    if channel_refund_id:
        part.channel_transaction_id = part.channel_transaction_id or channel_refund_id
    apply(part, order, orig, status, reason, actor, reseller_code(order.reseller_id))
    return True


def settle_refund_part(txn_pk: int, status: str, reason: str = "", actor: Actor = SYSTEM,
                       channel_refund_id: str | None = None) -> bool:
    """Settle one part in a transaction of its own. Idempotent: False for a part already final."""
    with transaction():
        return apply_part_outcome(lock_part(txn_pk), status, reason, actor, channel_refund_id)
