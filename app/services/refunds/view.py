"""A refund as the API shows it (docs/API.md §4), finding it by the order system's
``refundOrderId``, and the HTTP status its creation answers."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.enums import ChannelKind
from ...domain.errors import NotFound
from ...domain.money import money_str
from ...domain.timeutil import to_shanghai_iso
from ...extensions import db
from ...models import ChannelPayment, PaymentOrder, PaymentTransaction, Refund
from ..orders.view import transaction_dict

ASYNC_KINDS = (ChannelKind.ONLINE, ChannelKind.WIRE)  # parts settled later: by the gateway's refund, or by a payout


def find_refund(refund_order_id: str) -> Refund | None:
    return db.session.scalar(sa.select(Refund).where(Refund.refund_order_id == refund_order_id))


def status_code_of(refund: Refund) -> int:
    """201 when every part settled at once, 202 when some went to an asynchronous channel."""
    kinds = db.session.scalars(sa.select(PaymentTransaction.channel_kind).where(
        PaymentTransaction.refund_id == refund.id)).all()
    return 202 if any(k in ASYNC_KINDS for k in kinds) else 201


def refund_dict(refund: Refund) -> dict:
    order = db.session.get_one(PaymentOrder, refund.payment_order_id)
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

