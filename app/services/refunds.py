"""Refunds (DESIGN.md §6, API.md §4): an approved refund instruction split into REFUND transactions
("parts") on the channels of the payment transactions it refunds.

Creation runs in ONE transaction: the payment order is locked (``FOR UPDATE``), then its SUCCESS
PAYMENT transactions (id order); the instruction is allocated to them (refund_allocation), the parts
are inserted PROCESSING and counted as ``refunding`` on the original transaction and on the order.
Then per channel: WALLET and CREDIT parts are settled in the same transaction (refund_internal);
ONLINE parts are sent to the gateway after commit and settled by its answer, callback or query
(refund_online); WIRE parts become a payout to the reseller's refund account, inserted in the same
transaction, sent after commit and settled when the payout is final (refund_wire). Every settlement
goes through refund_settlement. Finance retries a FAILED part here (``retry_part``).

The names other modules use are importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..domain.errors import IdempotencyKeyReused, NotFound, StateConflict
from ..domain.money import money_str
from ..domain.timeutil import to_shanghai_iso
from ..extensions import db
from ..models import Channel, ChannelPayment, PaymentOrder, PaymentTransaction, Refund
from ..models.types import now_utc
from . import audit, ids, outbox, refund_allocation, refund_internal, refund_wire
from .actor import Actor
from .idempotency import request_fingerprint
from .payment_orders import apply_refund_status
from .refund_allocation import split_latest, split_proportional
from .refund_online import compensate_refunds, dispatch_online, refresh_refund
from .refund_settlement import (
    apply_part_outcome,
    lock_part,
    refresh_refund_status,
    refund_event,
    reseller_code,
    settle_refund_part,
)
from .tx import transaction

__all__ = [
    "RefundInstruction", "create_refund", "retry_part", "find_refund", "get_refund", "refund_dict", "status_code_of",
    "split_latest", "split_proportional", "apply_part_outcome", "settle_refund_part", "refund_event",
    "dispatch_online", "refresh_refund", "compensate_refunds",
]

ZERO = Decimal("0.00")
ASYNC_KINDS = ("ONLINE", "WIRE")  # parts settled later: by the gateway's refund, or by a payout


@dataclass(frozen=True)
class RefundInstruction:
    refund_order_id: str
    payment_id: str
    amount: Decimal
    refund_type: str = "PARTIAL"  # FULL | PARTIAL
    strategy: str = "LATEST"  # LATEST | SPECIFIED | PROPORTIONAL
    transaction_id: str | None = None
    reason: str = ""
    approval_info: dict = field(default_factory=dict)

    def fingerprint(self) -> str:
        return request_fingerprint({
            "op": "refund", "refundOrderId": self.refund_order_id, "paymentId": self.payment_id,
            "refundAmount": money_str(self.amount), "refundType": self.refund_type, "strategy": self.strategy,
            "transactionId": self.transaction_id, "refundReason": self.reason, "approvalInfo": self.approval_info,
        })


# --- creation ---------------------------------------------------------------------------------

def find_refund(refund_order_id: str) -> Refund | None:
    return db.session.scalar(sa.select(Refund).where(Refund.refund_order_id == refund_order_id))


def status_code_of(refund: Refund) -> int:
    """201 when every part settled at once, 202 when some went to an asynchronous channel."""
    kinds = db.session.scalars(sa.select(PaymentTransaction.channel_kind).where(
        PaymentTransaction.refund_id == refund.id)).all()
    return 202 if any(k in ASYNC_KINDS for k in kinds) else 201


def _replay(existing: Refund, fingerprint: str) -> tuple[Refund, int, bool]:
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused(f"refundOrderId {existing.refund_order_id} was used for a different request")
    return existing, status_code_of(existing), True


def _lock_order(payment_id: str) -> PaymentOrder:
    o = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == payment_id).with_for_update())
    if o is None:
        raise NotFound(f"payment order {payment_id} does not exist")
    return o


def _lock_payments(order_pk: int) -> list[PaymentTransaction]:
    return list(db.session.scalars(
        sa.select(PaymentTransaction).where(PaymentTransaction.payment_order_id == order_pk,
                                            PaymentTransaction.transaction_type == "PAYMENT",
                                            PaymentTransaction.status == "SUCCESS")
        .order_by(PaymentTransaction.id).with_for_update()))


def _new_part(refund: Refund, order: PaymentOrder, orig: PaymentTransaction, amount: Decimal,
              remark: str | None = None) -> PaymentTransaction:
    txn = PaymentTransaction(
        transaction_id=ids.transaction_id(), payment_order_id=order.id, order_id=order.order_id,
        reseller_id=order.reseller_id, transaction_type="REFUND", status="PROCESSING", amount=-amount,
        refunded_amount=ZERO, refunding_amount=ZERO, channel_id=orig.channel_id, channel_code=orig.channel_code,
        channel_kind=orig.channel_kind, channel_payment_id=orig.channel_payment_id,
        merged_payment_id=orig.merged_payment_id, original_transaction_id=orig.id, refund_id=refund.id,
        business_order_id=refund.refund_order_id, remark=remark, created_at=now_utc(),
    )
    db.session.add(txn)
    orig.refunding_amount += amount
    order.refunding_amount += amount
    db.session.flush()
    return txn


def create_refund(actor: Actor, ins: RefundInstruction) -> tuple[Refund, int, bool]:
    """Create (or replay) a refund. Returns (refund, HTTP status code, duplicate)."""
    fingerprint = ins.fingerprint()
    online_parts: list[int] = []
    payouts: list[str] = []
    try:
        with transaction():
            existing = find_refund(ins.refund_order_id)
            if existing is not None:
                return _replay(existing, fingerprint)
            order = _lock_order(ins.payment_id)
            existing = find_refund(ins.refund_order_id)  # a concurrent twin may have committed meanwhile
            if existing is not None:
                return _replay(existing, fingerprint)
            txns = _lock_payments(order.id)
            plan = refund_allocation.plan(ins, order, txns)
            channel_rows = {c.id: c for c in db.session.scalars(sa.select(Channel).where(
                Channel.id.in_({t.channel_id for t, _ in plan if t.channel_id})))}
            for orig, part in plan:
                refund_allocation.check_channel(orig, part, ins, channel_rows)
            refund = Refund(refund_id=ids.refund_id(), refund_order_id=ins.refund_order_id, client_id=actor.client_id,
                            payment_order_id=order.id, amount=ins.amount, reason=ins.reason[:500],
                            approval_info=ins.approval_info or {}, refund_type=ins.refund_type,
                            strategy=ins.strategy, status="PROCESSING", request_hash=fingerprint,
                            created_at=now_utc())
            db.session.add(refund)
            db.session.flush()
            parts = [_new_part(refund, order, orig, amount) for orig, amount in plan]
            apply_refund_status(order, actor, f"refund {refund.refund_order_id} requested")
            code = reseller_code(order.reseller_id)
            audit.record(actor, "refund.created", "refund", refund.refund_id, None, {
                "refundOrderId": refund.refund_order_id, "paymentId": order.payment_id,
                "amount": money_str(refund.amount), "strategy": refund.strategy, "type": refund.refund_type,
                "parts": [{"transactionId": p.transaction_id, "amount": money_str(-p.amount)} for p in parts]})
            outbox.emit("refund.created", "refund", refund.refund_id, refund_event(refund, order, code))
            for p, (orig, _) in zip(parts, plan, strict=True):
                if p.channel_kind in refund_internal.INTERNAL_KINDS:
                    refund_internal.execute(p, order, orig, refund, actor, code)
                elif p.channel_kind == "WIRE":
                    payouts.append(refund_wire.start(actor, p, refund))
                else:
                    online_parts.append(p.id)
            refresh_refund_status(refund)
            refund_pk = refund.id
            status_code = 202 if online_parts or payouts else 201
    except IntegrityError:
        db.session.rollback()
        existing = find_refund(ins.refund_order_id)
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    for pk in online_parts:
        dispatch_online(pk, actor)
    for order_no in payouts:
        refund_wire.send(order_no)
    refund = db.session.get(Refund, refund_pk)
    return refund, status_code, False


def retry_part(actor: Actor, txn_pk: int) -> PaymentTransaction:
    """Finance retries a FAILED part: a new PROCESSING part for the same amount on the same channel."""
    new_pk = None
    with transaction():
        failed = lock_part(txn_pk)
        if failed.status != "FAILED":
            raise StateConflict(f"only a FAILED refund part can be retried ({failed.transaction_id} is "
                                f"{failed.status})")
        order = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.id == failed.payment_order_id)
                                  .with_for_update())
        orig = db.session.scalar(sa.select(PaymentTransaction).where(
            PaymentTransaction.id == failed.original_transaction_id).with_for_update())
        refund = db.session.get(Refund, failed.refund_id)
        amount = -failed.amount
        live = -(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PaymentTransaction.amount), 0)).where(
            PaymentTransaction.refund_id == refund.id, PaymentTransaction.status.in_(("SUCCESS", "PROCESSING"))))
            or 0)
        if Decimal(live) + amount > refund.amount:
            raise StateConflict(f"refund {refund.refund_order_id} has no failed amount left to retry")
        if amount > orig.refundable_amount:
            raise StateConflict(f"transaction {orig.transaction_id} has only {orig.refundable_amount:.2f} "
                                f"left to refund")
        part = _new_part(refund, order, orig, amount, remark=f"retry of {failed.transaction_id}")
        apply_refund_status(order, actor, f"refund part {failed.transaction_id} retried")
        refresh_refund_status(refund)
        audit.record(actor, "refund_part.retried", "transaction", failed.transaction_id, None,
                     {"newTransactionId": part.transaction_id, "amount": money_str(amount)})
        payout = None
        if part.channel_kind in refund_internal.INTERNAL_KINDS:
            refund_internal.execute(part, order, orig, refund, actor, reseller_code(order.reseller_id))
        elif part.channel_kind == "WIRE":
            payout = refund_wire.start(actor, part, refund)
        new_pk = part.id
    if payout is not None:
        refund_wire.send(payout)
    elif db.session.get(PaymentTransaction, new_pk).channel_kind == "ONLINE":
        dispatch_online(new_pk, actor)
    db.session.expire_all()
    return db.session.get(PaymentTransaction, new_pk)


# --- reading -------------------------------------------------------------------------------------

def refund_dict(refund: Refund) -> dict:
    from .order_view import transaction_dict

    order = db.session.get(PaymentOrder, refund.payment_order_id)
    original = sa.orm.aliased(PaymentTransaction)
    rows = db.session.execute(
        sa.select(PaymentTransaction, ChannelPayment.channel_payment_id, original.transaction_id)
        .outerjoin(ChannelPayment, ChannelPayment.id == PaymentTransaction.channel_payment_id)
        .outerjoin(original, original.id == PaymentTransaction.original_transaction_id)
        .where(PaymentTransaction.refund_id == refund.id).order_by(PaymentTransaction.id)).all()
    return {
        "refundId": refund.refund_id, "refundOrderId": refund.refund_order_id, "paymentId": order.payment_id,
        "refundAmount": money_str(refund.amount), "refundType": refund.refund_type, "strategy": refund.strategy,
        "status": refund.status,
        "parts": [transaction_dict(t, order.payment_id, cp_no, None, orig_no) for t, cp_no, orig_no in rows],
        "createdAt": to_shanghai_iso(refund.created_at), "completedAt": to_shanghai_iso(refund.completed_at),
    }


def get_refund(refund_order_id: str) -> Refund:
    refund = find_refund(refund_order_id)
    if refund is None:
        raise NotFound(f"refund {refund_order_id} does not exist")
    return refund
