"""What happens to a merged payment after checkout: approval (maker-checker), rejection, cancel.

Locks follow the settlement order (channel payments first, then orders, reseller, merged payment)."""

from __future__ import annotations

import sqlalchemy as sa

from ..channels.base import ChannelUnavailable
from ..channels.registry import adapter_for
from ..domain.enums import Role
from ..domain.errors import Forbidden, NotFound, StateConflict, ValidationFailed
from ..extensions import db
from ..models import ChannelPayment, MergedPayment, Voucher
from ..models.types import now_utc
from . import audit, channels, payment_start, repayment_orders, settlement
from .actor import Actor
from .tx import transaction


def _find(merged_payment_id: str, reseller_id: int) -> MergedPayment:
    mp = db.session.scalar(sa.select(MergedPayment).where(MergedPayment.merged_payment_id == merged_payment_id,
                                                          MergedPayment.reseller_id == reseller_id))
    if mp is None:
        raise NotFound("no such payment")
    return mp


def _lock_channel_payments(merged_pk: int) -> list[ChannelPayment]:
    return list(db.session.scalars(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == merged_pk)
                                   .order_by(ChannelPayment.id).with_for_update()))


def approve(actor: Actor, user_id: int, role: str, reseller_id: int, merged_payment_id: str) -> None:
    """A reseller approver, not the operator who made it, lets a large payment go ahead."""
    if role != Role.RESELLER_APPROVER:
        raise Forbidden("only a reseller approver can approve payments")
    with transaction():
        mp = _find(merged_payment_id, reseller_id)
        _lock_channel_payments(mp.id)
        db.session.refresh(mp, with_for_update=True)
        if mp.status != "PENDING_APPROVAL":
            raise StateConflict(f"this payment is {mp.status}, not waiting for approval")
        if mp.created_by_user_id == user_id:
            raise Forbidden("the person who made a payment cannot approve it")
        mp.status = "PROCESSING"
        mp.approved_by_user_id = user_id
        mp.approved_at = now_utc()
        audit.record(actor, "merged_payment.approve", "merged_payment", mp.merged_payment_id,
                     {"status": "PENDING_APPROVAL"}, {"status": "PROCESSING"})
        # Wallet and credit are checked again here: they may have changed while the payment waited.
        payment_start.start_internal_channels(mp, actor)
        merged_pk = mp.id
    payment_start.start_online_payments(merged_pk, actor)
    repayment_orders.create_missing(merged_pk=merged_pk)


def reject(actor: Actor, role: str, reseller_id: int, merged_payment_id: str, reason: str) -> None:
    if role != Role.RESELLER_APPROVER:
        raise Forbidden("only a reseller approver can reject payments")
    if not reason.strip():
        raise ValidationFailed("give a reason", field="reason")
    with transaction():
        mp = _find(merged_payment_id, reseller_id)
        cps = _lock_channel_payments(mp.id)
        db.session.refresh(mp, with_for_update=True)
        if mp.status != "PENDING_APPROVAL":
            raise StateConflict(f"this payment is {mp.status}, not waiting for approval")
        mp.reject_reason = reason[:500]
        for cp in cps:
            settlement.apply(cp, settlement.Outcome(status="CANCELLED", reason=f"rejected: {reason}"[:500]), actor)


def cancel(actor: Actor, reseller_id: int, merged_payment_id: str) -> None:
    """Cancel before anything is paid. ONLINE payments are asked at the bank first: one that the bank
    has taken (or is still processing) cannot be cancelled."""
    mp = _find(merged_payment_id, reseller_id)
    if mp.status not in ("PENDING_APPROVAL", "PROCESSING"):
        raise StateConflict(f"a {mp.status} payment cannot be cancelled")
    online = [(cp.id, cp.channel_payment_id, cp.channel_id) for cp in mp.channel_payments
              if cp.channel_kind == "ONLINE" and cp.status == "PROCESSING" and cp.pay_url]
    db.session.rollback()
    for cp_pk, number, channel_id in online:
        with transaction():
            cfg = channels.config_by_id(channel_id)
        try:
            result = adapter_for("ONLINE").query_payment(cfg, number)
        except ChannelUnavailable:
            raise StateConflict("the bank cannot be reached to confirm nothing was paid; try again later") from None
        if result.status == "SUCCESS":
            settlement.settle(cp_pk, settlement.Outcome(status="SUCCESS", channel_transaction_id=
                                                        result.channel_transaction_id), actor)
            raise StateConflict("the bank has already received this payment; it cannot be cancelled")
        if result.status == "PROCESSING":
            raise StateConflict("the bank is still processing this payment; it cannot be cancelled now")
    with transaction():
        mp = _find(merged_payment_id, reseller_id)
        cps = _lock_channel_payments(mp.id)
        if any(cp.status == "SUCCESS" for cp in cps):
            raise StateConflict("part of this payment has been paid; it can no longer be cancelled")
        waiting_voucher = db.session.scalar(sa.select(sa.func.count()).select_from(Voucher).where(
            Voucher.channel_payment_id.in_([cp.id for cp in cps]), Voucher.status == "PENDING"))
        if waiting_voucher:
            raise StateConflict("a wire voucher is waiting for finance; it can no longer be cancelled")
        for cp in cps:
            settlement.apply(cp, settlement.Outcome(status="CANCELLED", reason="cancelled by the reseller"), actor)
        audit.record(actor, "merged_payment.cancel", "merged_payment", merged_payment_id, None, None)
