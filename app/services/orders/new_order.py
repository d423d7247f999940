"""A new payment order before it is stored: what the order system asked for (``NewPaymentOrder``)
and the rows that storing it writes (the order, its first status-log row, audit entry and
``payment_order.created`` event), built once and written by either writer of ``writer``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from ...domain import numbers
from ...domain.enums import PaymentStatus, PaymentType, RefundStatus
from ...domain.event_types import EventType
from ...domain.money import ZERO
from ...models.payment_order import NewOrderValues
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import outbox
from ..platform.actor import Actor
from .view import order_dict


@dataclass
class NewPaymentOrder:
    order_id: str
    reseller_code: str
    payment_type: str
    payment_amount: Decimal
    payment_deadline: datetime | None = None
    business_desc: str = ""
    priority: int = 0
    related_business_id: str | None = None
    related_business_type: str | None = None
    business_expire_date: date | None = None
    tags: dict = field(default_factory=dict)
    credit_record_id: str | None = None

    @property
    def related_id(self) -> str | None:
        """The third part of the natural key: the credit record of a repayment, else the caller's id."""
        if self.payment_type == PaymentType.CREDIT_REPAYMENT:
            return self.credit_record_id
        return self.related_business_id


@dataclass
class NewOrderRows:
    order: NewOrderValues
    values: dict
    view: dict
    status_row: dict
    audit_row: dict
    outbox_row: dict


def new_order_rows(actor: Actor, new: NewPaymentOrder, reseller_id: int | None,
                   related_type: str | None = None) -> NewOrderRows:
    now = now_utc()
    order = NewOrderValues(
        payment_id=numbers.payment_id(), order_id=new.order_id, reseller_id=reseller_id,
        payment_type=new.payment_type, payment_amount=new.payment_amount, paid_amount=ZERO,
        refunded_amount=ZERO, reserved_amount=ZERO, refunding_amount=ZERO, currency="CNY",
        payment_status=PaymentStatus.UNPAID.value, refund_status=RefundStatus.NO_REFUND.value,
        last_attempt_failed=False, last_refund_failed=False, payment_deadline=new.payment_deadline,
        business_desc=new.business_desc or "", priority=new.priority, related_business_id=new.related_id or "",
        related_business_type=related_type or new.related_business_type,
        business_expire_date=new.business_expire_date, tags=new.tags or {}, created_by_client_id=actor.client_id,
        version=1, created_at=now, updated_at=now,
    )
    values = order.column_values()
    view = order_dict(order, new.reseller_code)
    return NewOrderRows(
        order=order, values=values, view=view,
        status_row={"field": "payment", "from_status": None, "to_status": PaymentStatus.UNPAID.value,
                    "reason": "created", "actor": actor.label, "created_at": now},
        audit_row=audit.entry_row(actor, "payment_order.create", "payment_order", order.payment_id, None, view),
        outbox_row=outbox.event_row(EventType.PAYMENT_ORDER_CREATED, "payment_order", order.payment_id, view),
    )
