"""The status rules applied after every change of a payment order (docs/DOMAIN.md §3): the derived
payment and refund statuses recomputed, each change written to the status log (the timeline)."""

from __future__ import annotations

from ...domain.order_status import ADMINISTRATIVE, derive_payment_status, derive_refund_status
from ...extensions import db
from ...models import PaymentOrder, StatusLog
from ..platform.actor import Actor


def apply_status(order: PaymentOrder, actor: Actor, reason: str) -> tuple[str, str] | None:
    """Recompute the derived payment status (unless STOPPED/FROZEN) and log a change.
    Returns (from, to) when it changed. The refund status is recomputed too: it depends on the paid
    amount (a FULL_REFUNDED order paid again is PARTIAL_REFUNDED)."""
    apply_refund_status(order, actor, reason)
    if order.payment_status in ADMINISTRATIVE:
        return None
    new_status = derive_payment_status(
        amount=order.payment_amount, paid=order.paid_amount, reserved=order.reserved_amount,
        last_attempt_failed=order.last_attempt_failed,
    ).value
    return set_status(order, new_status, actor, reason)


def apply_refund_status(order: PaymentOrder, actor: Actor, reason: str) -> None:
    """Recompute the derived refund status (docs/DOMAIN.md §3) and log a change."""
    new = derive_refund_status(paid=order.paid_amount, refunded=order.refunded_amount,
                               refunding=order.refunding_amount, last_refund_failed=order.last_refund_failed).value
    if new != order.refund_status:
        db.session.add(StatusLog(payment_order_id=order.id, field="refund", from_status=order.refund_status,
                                 to_status=new, reason=reason[:500], actor=actor.label))
        order.refund_status = new


def set_status(order: PaymentOrder, new_status: str, actor: Actor, reason: str) -> tuple[str, str] | None:
    old = order.payment_status
    if old == new_status:
        return None
    order.payment_status = new_status
    db.session.add(StatusLog(payment_order_id=order.id, field="payment", from_status=old, to_status=new_status,
                             reason=reason, actor=actor.label))
    return old, new_status

