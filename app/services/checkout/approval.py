"""What happens to a merged payment after checkout: approval (maker-checker), rejection, cancel.

Locks follow the settlement order (channel payments first, then orders, reseller, merged payment)."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.enums import ChannelPaymentStatus, MergedPaymentStatus, Role
from ...domain.errors import Forbidden, NotFound, StateConflict, ValidationFailed
from ...domain.payment_states import MergedPaymentEvent, next_merged_status
from ...extensions import db
from ...models import ChannelPayment, MergedPayment
from ...models.types import now_utc
from ..audit import log as audit
from ..orders import repayment_orders
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from ..settlement import channel_result as settlement
from ..settlement import channel_start


def find_merged_payment(merged_payment_id: str, reseller_id: int) -> MergedPayment:
    mp = db.session.scalar(sa.select(MergedPayment).where(MergedPayment.merged_payment_id == merged_payment_id,
                                                          MergedPayment.reseller_id == reseller_id))
    if mp is None:
        raise NotFound("no such payment")
    return mp


def lock_channel_payments(merged_pk: int) -> list[ChannelPayment]:
    return list(db.session.scalars(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == merged_pk)
                                   .order_by(ChannelPayment.id).with_for_update()))


def _lock_waiting(merged_payment_id: str, reseller_id: int) -> tuple[MergedPayment, list[ChannelPayment]]:
    """The merged payment waiting for approval and its channel payments, locked (channel payments first)."""
    mp = find_merged_payment(merged_payment_id, reseller_id)
    cps = lock_channel_payments(mp.id)
    db.session.refresh(mp, with_for_update=True)
    if mp.status != MergedPaymentStatus.PENDING_APPROVAL:
        raise StateConflict(f"this payment is {mp.status}, not waiting for approval")
    return mp, cps


def approve(actor: Actor, user_id: int, role: str, reseller_id: int, merged_payment_id: str) -> None:
    """A reseller approver, not the operator who made it, lets a large payment go ahead."""
    if role != Role.RESELLER_APPROVER:
        raise Forbidden("only a reseller approver can approve payments")
    with transaction():
        mp, cps = _lock_waiting(merged_payment_id, reseller_id)
        if any(cp.status != ChannelPaymentStatus.PENDING for cp in cps):
            raise StateConflict("part of this payment expired while it waited for approval; it can no longer be "
                                "approved, the operator pays again")
        if mp.created_by_user_id == user_id:
            raise Forbidden("the person who made a payment cannot approve it")
        mp.status = next_merged_status(mp.status, MergedPaymentEvent.APPROVE)
        mp.approved_by_user_id = user_id
        mp.approved_at = now_utc()
        audit.record(actor, "merged_payment.approve", "merged_payment", mp.merged_payment_id,
                     {"status": MergedPaymentStatus.PENDING_APPROVAL}, {"status": mp.status})
        # Wallet and credit are checked again here: they may have changed while the payment waited.
        channel_start.start_internal_channels(mp, actor)
        merged_pk = mp.id
    channel_start.start_online_payments(merged_pk, actor)
    repayment_orders.create_missing(merged_pk=merged_pk)


def reject(actor: Actor, role: str, reseller_id: int, merged_payment_id: str, reason: str) -> None:
    if role != Role.RESELLER_APPROVER:
        raise Forbidden("only a reseller approver can reject payments")
    if not reason.strip():
        raise ValidationFailed("give a reason", field="reason")
    with transaction():
        mp, cps = _lock_waiting(merged_payment_id, reseller_id)
        mp.reject_reason = reason[:500]
        for cp in cps:
            settlement.apply(cp, settlement.Outcome(status=ChannelPaymentStatus.CANCELLED,
                                                    reason=f"rejected: {reason}"[:500]), actor)

