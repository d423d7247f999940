"""The order system's changes to a payment order (docs/API.md §3 PATCH): fields, and the
administrative actions STOP, FREEZE and UNFREEZE, under a row lock, each refusal a 409."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ...domain.enums import OrderAction, PaymentStatus, PaymentType
from ...domain.errors import StateConflict
from ...domain.event_types import EventType
from ...domain.order_status import derive_payment_status
from ...models import PaymentOrder
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from .credit_repayment import check_credit_repayment
from .lookup import lock_order_with_reseller
from .new_order import NewPaymentOrder
from .status import apply_status, set_status
from .view import order_dict


@dataclass
class OrderChanges:
    payment_amount: Decimal | None = None
    payment_deadline: datetime | None = None
    business_desc: str | None = None
    priority: int | None = None
    tags: dict | None = None
    action: str | None = None
    reason: str | None = None
    present: frozenset[str] = frozenset()  # which fields the request named


def update_payment_order(actor: Actor, payment_id: str, changes: OrderChanges) -> tuple[PaymentOrder, str]:
    """The order system's PATCH: field updates or STOP / FREEZE / UNFREEZE, under a row lock."""
    with transaction():
        order, reseller_code = lock_order_with_reseller(payment_id)
        before = order_dict(order, reseller_code)
        if order.payment_status == PaymentStatus.STOPPED:
            raise StateConflict("the payment order is STOPPED and can no longer be changed")
        in_flight = order.reserved_amount > 0 or order.refunding_amount > 0
        reason = changes.reason or ""
        transition = None
        if changes.action == OrderAction.FREEZE:
            if order.payment_status == PaymentStatus.FROZEN:
                raise StateConflict("the payment order is already FROZEN")
            if in_flight:
                raise StateConflict("money is in flight on this order; freeze it after the payment settles")
            transition = set_status(order, PaymentStatus.FROZEN.value, actor, reason or "frozen")
        elif changes.action == OrderAction.STOP:
            if in_flight:
                raise StateConflict("money is in flight on this order; stop it after the payment settles")
            transition = set_status(order, PaymentStatus.STOPPED.value, actor, reason or "stopped")
        elif changes.action == OrderAction.UNFREEZE:
            if order.payment_status != PaymentStatus.FROZEN:
                raise StateConflict("the payment order is not FROZEN")
            derived = derive_payment_status(
                amount=order.payment_amount, paid=order.paid_amount, reserved=order.reserved_amount,
                last_attempt_failed=order.last_attempt_failed,
            ).value
            transition = set_status(order, derived, actor, reason or "unfrozen")
        _apply_field_changes(order, reseller_code, changes)
        if "paymentAmount" in changes.present:
            transition = apply_status(order, actor, reason or "amount changed") or transition
        order.version += 1
        order.updated_at = now_utc()
        after = order_dict(order, reseller_code)
        audit.record(actor, f"payment_order.{(changes.action or 'update').lower()}", "payment_order",
                     order.payment_id, before, after)
        outbox.emit(EventType.PAYMENT_ORDER_UPDATED, "payment_order", order.payment_id, after)
        if transition:
            outbox.emit(EventType.PAYMENT_ORDER_STATUS_CHANGED, "payment_order", order.payment_id,
                        {**after, "fromStatus": transition[0], "reason": reason})
    return order, reseller_code


def _apply_field_changes(order: PaymentOrder, reseller_code: str, changes: OrderChanges) -> None:
    if "paymentAmount" in changes.present:
        amount = changes.payment_amount
        assert amount is not None  # a named field has a value: the API reads null as absent
        if amount < order.paid_amount + order.reserved_amount:
            raise StateConflict(
                f"paymentAmount may not be below paid + reserved ({order.paid_amount + order.reserved_amount:.2f})"
            )
        if order.payment_type == PaymentType.CREDIT_REPAYMENT and amount > order.payment_amount:
            check_credit_repayment(
                NewPaymentOrder(order_id=order.order_id, reseller_code=reseller_code,
                                payment_type=order.payment_type, payment_amount=amount - order.paid_amount,
                                credit_record_id=order.related_business_id),
                order.reseller_id, exclude_order_id=order.id,
            )
        order.payment_amount = amount
    if "paymentDeadline" in changes.present:
        order.payment_deadline = changes.payment_deadline
    if "businessDesc" in changes.present:
        order.business_desc = changes.business_desc or ""
    if "priority" in changes.present:
        order.priority = changes.priority or 0
    if "tags" in changes.present:
        order.tags = changes.tags or {}

