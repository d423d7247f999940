"""Refunds (docs/DOMAIN.md §6, docs/API.md §4): an approved refund instruction split into REFUND transactions
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

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...domain import numbers
from ...domain.enums import ChannelKind, RefundOrderStatus, TransactionStatus, TransactionType
from ...domain.errors import IdempotencyKeyReused, NotFound
from ...domain.event_types import EventType
from ...domain.money import money_str
from ...extensions import db
from ...models import Channel, PaymentOrder, PaymentTransaction, Refund
from ...models.types import now_utc
from ..audit import log as audit
from ..orders.status import apply_refund_status
from ..platform import outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import discard, transaction
from . import allocation as refund_allocation
from . import internal as refund_internal
from . import wire as refund_wire
from .instruction import RefundInstruction
from .online import dispatch_online
from .part_settlement import (
    refresh_refund_status,
    refund_event,
    reseller_code,
)
from .view import find_refund, status_code_of

ZERO = Decimal("0.00")


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
                                            PaymentTransaction.transaction_type == TransactionType.PAYMENT,
                                            PaymentTransaction.status == TransactionStatus.SUCCESS)
        .order_by(PaymentTransaction.id).with_for_update()))


def new_part(refund: Refund, order: PaymentOrder, orig: PaymentTransaction, amount: Decimal,
              remark: str | None = None) -> PaymentTransaction:
    txn = PaymentTransaction(
        transaction_id=numbers.transaction_id(), payment_order_id=order.id, order_id=order.order_id,
        reseller_id=order.reseller_id, transaction_type=TransactionType.REFUND,
        status=TransactionStatus.PROCESSING, amount=-amount,
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
            refund = Refund(refund_id=numbers.refund_id(), refund_order_id=ins.refund_order_id,
                            client_id=actor.client_id,
                            payment_order_id=order.id, amount=ins.amount, reason=ins.reason[:500],
                            approval_info=ins.approval_info or {}, refund_type=ins.refund_type,
                            strategy=ins.strategy, status=RefundOrderStatus.PROCESSING, request_hash=fingerprint,
                            created_at=now_utc())
            db.session.add(refund)
            db.session.flush()
            parts = [new_part(refund, order, orig, amount) for orig, amount in plan]
            apply_refund_status(order, actor, f"refund {refund.refund_order_id} requested")
            code = reseller_code(order.reseller_id)
            audit.record(actor, "refund.created", "refund", refund.refund_id, None, {
                "refundOrderId": refund.refund_order_id, "paymentId": order.payment_id,
                "amount": money_str(refund.amount), "strategy": refund.strategy, "type": refund.refund_type,
                "parts": [{"transactionId": p.transaction_id, "amount": money_str(-p.amount)} for p in parts]})
            for p, (orig, _) in zip(parts, plan, strict=True):
                if p.channel_kind in refund_internal.INTERNAL_KINDS:
                    refund_internal.execute(p, order, orig, refund, actor, code)
                elif p.channel_kind == ChannelKind.WIRE:
                    payouts.append(refund_wire.start(actor, p, refund))
                else:
                    online_parts.append(p.id)
            refresh_refund_status(refund)
            # After the internal parts settled, so that the payload shows what this transaction commits.
            outbox.emit(EventType.REFUND_CREATED, "refund", refund.refund_id, refund_event(refund, order, code))
            refund_pk = refund.id
            status_code = 202 if online_parts or payouts else 201
    except IntegrityError:
        discard()
        existing = find_refund(ins.refund_order_id)
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    for pk in online_parts:
        dispatch_online(pk, actor)
    for order_no in payouts:
        refund_wire.send(order_no)
    refund = db.session.get_one(Refund, refund_pk)
    return refund, status_code, False

