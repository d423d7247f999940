"""Expiry (docs/DOMAIN.md §4): a channel payment nobody paid in time releases its reservations.
WIRE payments without a voucher and payments never approved expire here on a schedule; ONLINE
payments expire through the compensation query, once the bank confirms nothing was paid."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.enums import ChannelKind, ChannelPaymentStatus, VoucherStatus
from ...extensions import db
from ...models import ChannelPayment, Voucher
from ...models.types import now_utc
from ..platform.actor import SYSTEM
from ..platform.unit_of_work import end_read, transaction
from . import channel_result as settlement


def expire_due(limit: int = 500) -> int:
    """Scheduled: release WIRE payments without a voucher and payments never approved, once expired.
    (ONLINE payments expire through ``refresh``, after the bank confirms nothing was paid.)"""
    now = now_utc()
    pending_voucher = sa.select(Voucher.channel_payment_id).where(Voucher.status == VoucherStatus.PENDING)
    due = db.session.scalars(sa.select(ChannelPayment.id).where(
        ChannelPayment.expires_at <= now,
        sa.or_(sa.and_(ChannelPayment.status == ChannelPaymentStatus.PROCESSING,
                       ChannelPayment.channel_kind == ChannelKind.WIRE, ChannelPayment.id.not_in(pending_voucher)),
               ChannelPayment.status == ChannelPaymentStatus.PENDING),
    ).limit(limit)).all()
    end_read()
    expired = 0
    outcome = settlement.Outcome(status=ChannelPaymentStatus.EXPIRED, reason="expired")
    for cp_pk in due:
        with transaction():
            cp = settlement.lock_channel_payment(cp_pk)
            still_due = cp.expires_at is not None and cp.expires_at <= now
            if not still_due or db.session.scalar(pending_voucher.where(Voucher.channel_payment_id == cp_pk)):
                continue
            if cp.status == ChannelPaymentStatus.PENDING:
                # Approval is all or nothing: a payment still waiting for its approver expires whole,
                # so that no approval can start the rest of it (locks in id order, as approval takes them).
                siblings = db.session.scalars(sa.select(ChannelPayment).where(
                    ChannelPayment.merged_payment_id == cp.merged_payment_id,
                    ChannelPayment.status == ChannelPaymentStatus.PENDING)
                    .order_by(ChannelPayment.id).with_for_update()).all()
                expired += sum(settlement.apply(s, outcome, SYSTEM) for s in siblings)
            else:
                expired += settlement.apply(cp, outcome, SYSTEM)
    return expired

