"""Finding one payment order: by its number (with its reseller's code, as every view of it needs),
locked for a change, or by its natural key (docs/API.md §2)."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.enums import PaymentStatus
from ...domain.errors import NotFound
from ...extensions import db
from ...models import PaymentOrder, Reseller
from .new_order import NewPaymentOrder


def _with_reseller(payment_id: str) -> sa.Select:
    return (sa.select(PaymentOrder, Reseller.code).join(Reseller, Reseller.id == PaymentOrder.reseller_id)
            .where(PaymentOrder.payment_id == payment_id))


def get_order_with_reseller(payment_id: str) -> tuple[PaymentOrder, str]:
    row = db.session.execute(_with_reseller(payment_id)).first()
    if row is None:
        raise NotFound(f"payment order {payment_id} does not exist")
    return row[0], row[1]


def lock_order_with_reseller(payment_id: str) -> tuple[PaymentOrder, str]:
    row = db.session.execute(_with_reseller(payment_id).with_for_update(of=PaymentOrder)).first()
    if row is None:
        raise NotFound(f"payment order {payment_id} does not exist")
    return row[0], row[1]


def find_by_natural_key(new: NewPaymentOrder) -> PaymentOrder | None:
    """The live (not STOPPED) order with the same (orderId, paymentType, relatedBusinessId)."""
    return db.session.scalar(
        sa.select(PaymentOrder).where(
            PaymentOrder.order_id == new.order_id,
            PaymentOrder.payment_type == new.payment_type,
            PaymentOrder.related_business_id == (new.related_id or ""),
            PaymentOrder.payment_status != PaymentStatus.STOPPED,
        )
    )
