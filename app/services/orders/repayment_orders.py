"""Automatic credit repayment orders (docs/DOMAIN.md §5): when configured (AUTO_CREDIT_REPAYMENT_ORDERS),
the portal itself creates one CREDIT_REPAYMENT order per credit record, due on the record's due date.

The orders are created after the payment that booked the credit commits, and a scheduled sweep
creates any that are missing (a crash in between loses nothing); the natural key (order id, type,
credit record) makes every attempt after the first a no-op."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

import sqlalchemy as sa
from flask import current_app

from ...domain.enums import PaymentStatus, PaymentType
from ...domain.timeutil import SHANGHAI
from ...extensions import db
from ...models import CreditRecord, PaymentOrder, PaymentTransaction, Reseller
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read
from .creation import NewPaymentOrder, create_payment_order

AUTO_ACTOR = Actor(type="system", id="auto-repayment")


def enabled() -> bool:
    return bool(current_app.config.get("AUTO_CREDIT_REPAYMENT_ORDERS"))


def _missing(limit: int, merged_pk: int | None = None) -> Sequence[sa.Row]:
    live = sa.select(PaymentOrder.id).where(
        PaymentOrder.payment_type == PaymentType.CREDIT_REPAYMENT,
        PaymentOrder.related_business_id == CreditRecord.credit_record_id,
        PaymentOrder.payment_status != PaymentStatus.STOPPED)
    stmt = (sa.select(CreditRecord.credit_record_id, CreditRecord.order_id, CreditRecord.outstanding_amount,
                      CreditRecord.due_date, Reseller.code)
            .join(Reseller, Reseller.id == CreditRecord.reseller_id)
            .where(CreditRecord.outstanding_amount > 0, ~sa.exists(live))
            .order_by(CreditRecord.id).limit(limit))
    if merged_pk is not None:
        stmt = stmt.where(CreditRecord.transaction_id.in_(
            sa.select(PaymentTransaction.id).where(PaymentTransaction.merged_payment_id == merged_pk)))
    rows = db.session.execute(stmt).all()
    end_read()
    return rows


def create_missing(limit: int = 500, merged_pk: int | None = None) -> int:
    """Create the repayment orders that are missing. Returns how many were created."""
    if not enabled():
        return 0
    created = 0
    for record_id, order_id, outstanding, due, reseller_code in _missing(limit, merged_pk):
        outcome = create_payment_order(AUTO_ACTOR, NewPaymentOrder(
            order_id=order_id, reseller_code=reseller_code, payment_type=PaymentType.CREDIT_REPAYMENT,
            payment_amount=outstanding, credit_record_id=record_id,
            payment_deadline=datetime.combine(due, time(23, 59, 59), SHANGHAI),
            business_desc=f"信用还款 / credit repayment {record_id}"), idempotency_key=None, fingerprint="auto")
        created += not outcome.duplicate
    return created
