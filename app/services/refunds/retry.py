"""Finance retries a FAILED refund part (docs/DOMAIN.md §6): a new PROCESSING part for the same
amount on the same channel, as long as the refund still has that much failed and unretried."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import ChannelKind, TransactionStatus
from ...domain.errors import StateConflict
from ...domain.money import money_str
from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction, Refund
from ..audit import log as audit
from ..orders.status import apply_refund_status
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from . import internal as refund_internal
from . import wire as refund_wire
from .creation import new_part
from .online import dispatch_online
from .part_settlement import (
    LIVE_PART,
    lock_part,
    refresh_refund_status,
    reseller_code,
)


def retry_part(actor: Actor, txn_pk: int) -> PaymentTransaction:
    """Finance retries a FAILED part: a new PROCESSING part for the same amount on the same channel."""
    with transaction():
        failed = lock_part(txn_pk)
        if failed.status != TransactionStatus.FAILED:
            raise StateConflict(f"only a FAILED refund part can be retried ({failed.transaction_id} is "
                                f"{failed.status})")
        order = db.session.scalars(sa.select(PaymentOrder).where(PaymentOrder.id == failed.payment_order_id)
                                   .with_for_update()).one()
        orig = db.session.scalars(sa.select(PaymentTransaction).where(
            PaymentTransaction.id == failed.original_transaction_id).with_for_update()).one()
        refund = db.session.get_one(Refund, failed.refund_id)
        amount = -failed.amount
        live = -(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PaymentTransaction.amount), 0)).where(
            PaymentTransaction.refund_id == refund.id, PaymentTransaction.status.in_(LIVE_PART)))
            or 0)
        if Decimal(live) + amount > refund.amount:
            raise StateConflict(f"refund {refund.refund_order_id} has no failed amount left to retry")
        if amount > orig.refundable_amount:
            raise StateConflict(f"transaction {orig.transaction_id} has only {orig.refundable_amount:.2f} "
                                f"left to refund")
        part = new_part(refund, order, orig, amount, remark=f"retry of {failed.transaction_id}")
        apply_refund_status(order, actor, f"refund part {failed.transaction_id} retried")
        refresh_refund_status(refund)
        audit.record(actor, "refund_part.retried", "transaction", failed.transaction_id, None,
                     {"newTransactionId": part.transaction_id, "amount": money_str(amount)})
        payout = None
        if part.channel_kind in refund_internal.INTERNAL_KINDS:
            refund_internal.execute(part, order, orig, refund, actor, reseller_code(order.reseller_id))
        elif part.channel_kind == ChannelKind.WIRE:
            payout = refund_wire.start(actor, part, refund)
        new_pk = part.id
    if payout is not None:
        refund_wire.send(payout)
    elif db.session.get_one(PaymentTransaction, new_pk).channel_kind == ChannelKind.ONLINE:
        dispatch_online(new_pk, actor)
    db.session.expire_all()
    return db.session.get_one(PaymentTransaction, new_pk)

