"""Submitting a checkout (docs/DOMAIN.md §4 step 3): in ONE transaction with the orders and the
reseller locked, the allocations validated again, the merged payment, its channel payments and one
PROCESSING transaction per allocation created and the amounts reserved, so that concurrent
checkouts can never over-reserve. Then the channels start, unless it waits for an approver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...channels.registry import adapter_for
from ...domain import numbers
from ...domain.enums import ChannelPaymentStatus, MergedPaymentStatus, TransactionStatus, TransactionType
from ...domain.errors import NotFound
from ...domain.event_types import EventType
from ...extensions import db
from ...models import ChannelPayment, MergedPayment, PaymentTransaction, Reseller
from ...models.types import now_utc
from ..audit import log as audit
from ..notifications import announcements
from ..orders import repayment_orders
from ..orders.status import apply_status
from ..platform import outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import discard, end_read, transaction
from ..settlement import channel_start
from .validation import AllocationIn, validate

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CheckoutResult:
    merged_payment_id: str
    merged_pk: int
    status: str
    duplicate: bool = False


def submit(actor: Actor, user_id: int | None, reseller_id: int, rows: list[AllocationIn],
           submit_token: str | None = None) -> CheckoutResult:
    """Create the merged payment (see module docstring); then start its channels unless it waits for
    approval. A repeated ``submit_token`` answers the payment it made the first time."""
    try:
        with transaction():
            if submit_token:
                existing = _by_token(submit_token, reseller_id)
                if existing:
                    return existing
            result = _create(actor, user_id, reseller_id, rows, submit_token)
    except IntegrityError:
        discard()
        existing = _by_token(submit_token, reseller_id) if submit_token else None
        end_read()
        if existing is None:
            raise
        return existing
    if result.status == MergedPaymentStatus.PROCESSING:
        channel_start.start_online_payments(result.merged_pk, actor)
    repayment_orders.create_missing(merged_pk=result.merged_pk)
    return result


def _by_token(token: str, reseller_id: int) -> CheckoutResult | None:
    row = db.session.execute(sa.select(MergedPayment.id, MergedPayment.merged_payment_id, MergedPayment.status,
                                       MergedPayment.reseller_id).where(MergedPayment.submit_token == token)).first()
    if row is None:
        return None
    if row.reseller_id != reseller_id:
        raise NotFound("no such payment")
    return CheckoutResult(row.merged_payment_id, row.id, row.status, duplicate=True)


def _create(actor: Actor, user_id: int | None, reseller_id: int, rows: list[AllocationIn],
            submit_token: str | None) -> CheckoutResult:
    plan = validate(reseller_id, rows, lock=True)
    reseller = db.session.get_one(Reseller, reseller_id)
    needs_approval = plan.total > reseller.approval_threshold
    mp_status, cp_status = ((MergedPaymentStatus.PENDING_APPROVAL, ChannelPaymentStatus.PENDING) if needs_approval
                            else (MergedPaymentStatus.PROCESSING, ChannelPaymentStatus.PROCESSING))
    now = now_utc()
    mp = MergedPayment(merged_payment_id=numbers.merged_payment_id(), reseller_id=reseller_id,
                       status=mp_status, total_amount=plan.total,
                       submit_token=submit_token, created_by_user_id=user_id, created_at=now, updated_at=now)
    db.session.add(mp)
    db.session.flush()
    for group in plan.by_channel.values():
        ch = group[0].channel
        cp = ChannelPayment(channel_payment_id=numbers.channel_payment_id(), merged_payment_id=mp.id, channel_id=ch.id,
                            channel_code=ch.code, channel_kind=ch.kind, amount=sum((p.amount for p in group), ZERO),
                            status=cp_status, created_at=now, updated_at=now,
                            # Waiting for an approver holds the reservation no longer than the channel
                            # would wait for the payment itself; starting the channel sets it anew.
                            expires_at=now + timedelta(seconds=ch.expire_seconds) if needs_approval else None)
        db.session.add(cp)
        db.session.flush()
        for p in group:
            db.session.add(PaymentTransaction(
                transaction_id=numbers.transaction_id(), payment_order_id=p.order.id, order_id=p.order.order_id,
                reseller_id=reseller_id, transaction_type=TransactionType.PAYMENT,
                status=TransactionStatus.PROCESSING, amount=p.amount, channel_id=ch.id, channel_code=ch.code,
                channel_kind=ch.kind, channel_payment_id=cp.id, merged_payment_id=mp.id, created_at=now))
            p.order.reserved_amount += p.amount
            p.order.updated_at = now
            p.order.version += 1
            apply_status(p.order, actor, f"merged payment {mp.merged_payment_id}")
    db.session.flush()
    audit.record(actor, "merged_payment.create", "merged_payment", mp.merged_payment_id, None, {
        "total": f"{plan.total:.2f}", "status": mp.status,
        "allocations": [{"paymentId": p.order.payment_id, "amount": f"{p.amount:.2f}", "channel": p.channel.code}
                        for p in plan.rows]})
    if needs_approval:
        announcements.approval_waiting(reseller_id, mp.merged_payment_id, plan.total)
    else:
        channel_start.start_internal_channels(mp, actor)
    # After the internal channels settled: an order they paid already has settlement's event, every
    # other one gets its reservation's, so each payload shows what this transaction commits.
    for p in plan.rows:
        if not needs_approval and adapter_for(p.channel.kind).capabilities.settles_immediately:
            continue
        outbox.emit(EventType.PAYMENT_ORDER_STATUS_CHANGED, "payment_order", p.order.payment_id,
                    {"paymentId": p.order.payment_id, "orderId": p.order.order_id,
                     "paymentStatus": p.order.payment_status, "reservedAmount": f"{p.order.reserved_amount:.2f}",
                     "mergedPaymentId": mp.merged_payment_id})
    return CheckoutResult(mp.merged_payment_id, mp.id, mp.status)

