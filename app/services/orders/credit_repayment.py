"""The rule of a CREDIT_REPAYMENT order (docs/DOMAIN.md §3): its credit record exists, belongs to the
reseller and is bound to the order's ``orderId``, and the amount may not exceed what is still owed
on the record minus the unpaid part of other open repayment orders for it."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import PaymentStatus, PaymentType
from ...domain.errors import CreditRecordMismatch, ValidationFailed
from ...domain.money import ZERO
from ...extensions import db
from ...models import CreditRecord, PaymentOrder
from .lookup import find_by_natural_key
from .new_order import NewPaymentOrder


def check_credit_repayment(new: NewPaymentOrder, reseller_id: int, exclude_order_id: int | None = None) -> None:
    """Raises CreditRecordMismatch or ValidationFailed; locks the record."""
    record = db.session.scalar(
        sa.select(CreditRecord).where(CreditRecord.credit_record_id == new.credit_record_id).with_for_update()
    )
    if record is None or record.reseller_id != reseller_id or record.order_id != new.order_id:
        raise CreditRecordMismatch(
            "credit record is unknown, belongs to another reseller or is bound to another order",
            field="creditRecordId",
        )
    if exclude_order_id is None:
        twin = find_by_natural_key(new)
        if twin is not None and twin.payment_amount == new.payment_amount:
            # A resend of the live repayment order: the natural-key rule answers it (200, duplicate),
            # its own amount must not count against it.
            return
    conditions = [
        PaymentOrder.payment_type == PaymentType.CREDIT_REPAYMENT,
        PaymentOrder.related_business_id == record.credit_record_id,
        PaymentOrder.payment_status.not_in([PaymentStatus.STOPPED, PaymentStatus.PAID]),
    ]
    if exclude_order_id is not None:
        conditions.append(PaymentOrder.id != exclude_order_id)
    open_unpaid = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(PaymentOrder.payment_amount - PaymentOrder.paid_amount), 0))
        .where(*conditions)
    ).scalar_one()
    room = record.outstanding_amount - Decimal(open_unpaid)
    if new.payment_amount > room:
        raise ValidationFailed(
            f"repayment exceeds what is still owed on credit record {record.credit_record_id} "
            f"(at most {max(room, ZERO):.2f})",
            field="paymentAmount",
        )
