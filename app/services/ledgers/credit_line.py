"""The credit line (信用额度): used credit as an append-only ledger, one credit record per order paid
with credit, and the effect of repayments. Runs in the caller's transaction with the reseller locked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from ...channels.base import PaymentPart
from ...domain import numbers
from ...domain.enums import CreditEntryType, CreditLineStatus, CreditRecordStatus, ResellerStatus
from ...domain.errors import StateConflict
from ...domain.event_types import EventType
from ...domain.timeutil import shanghai_today
from ...extensions import db
from ...models import CreditEntry, CreditRecord, Reseller
from ...models.types import now_utc
from ..platform import outbox
from .wallet import lock_reseller

ZERO = Decimal("0.00")


class CreditUnavailable(StateConflict):
    pass


def add_entry(r: Reseller, record_pk: int | None, entry_type: str, amount: Decimal, reference: str, actor: str) -> None:
    db.session.add(CreditEntry(reseller_id=r.id, credit_record_id=record_pk, entry_type=entry_type, amount=amount,
                               used_after=r.credit_used, reference=reference, actor=actor, created_at=now_utc()))


def available(r: Reseller) -> Decimal:
    if r.status != ResellerStatus.ACTIVE or r.credit_status != CreditLineStatus.ACTIVE:
        return ZERO
    return max(ZERO, r.credit_limit - r.credit_used)


def book(reseller_id: int, parts: list[PaymentPart], reference: str, actor: str) -> list[CreditRecord]:
    """Pay order parts with credit: one credit record per part, checked against the available credit
    under the reseller's lock (the only check at approval time: the credit may have been used since)."""
    r = lock_reseller(reseller_id)
    total = sum((p.amount for p in parts), ZERO)
    if total > available(r):
        raise CreditUnavailable(f"available credit {available(r):.2f} is less than {total:.2f}")
    due = shanghai_today() + timedelta(days=r.credit_term_days)
    records = []
    for part in parts:
        rec = CreditRecord(credit_record_id=numbers.credit_record_id(), reseller_id=r.id, order_id=part.order_id,
                           payment_order_id=part.order_pk, transaction_id=part.transaction_pk, amount=part.amount,
                           outstanding_amount=part.amount, due_date=due, status=CreditRecordStatus.OPEN)
        db.session.add(rec)
        db.session.flush()
        r.credit_used += part.amount
        add_entry(r, rec.id, CreditEntryType.USE, part.amount, reference, actor)
        records.append(rec)
    return records


def repay(record_id: str, amount: Decimal, reference: str, actor: str) -> Decimal:
    """A repayment order was paid: reduce the record's outstanding amount and the used credit.
    Returns what exceeded the outstanding amount (credited to the wallet by the caller)."""
    rec = db.session.execute(sa.select(CreditRecord).where(CreditRecord.credit_record_id == record_id)
                             .with_for_update()).scalar_one_or_none()
    if rec is None:
        raise StateConflict(f"credit record {record_id} does not exist")
    r = lock_reseller(rec.reseller_id)
    applied = min(amount, rec.outstanding_amount)
    if applied > 0:
        rec.outstanding_amount -= applied
        rec.status = CreditRecordStatus.REPAID if rec.outstanding_amount == 0 else rec.status
        r.credit_used -= applied
        add_entry(r, rec.id, CreditEntryType.REPAY, -applied, reference, actor)
    payload = {"creditRecordId": rec.credit_record_id, "orderId": rec.order_id, "resellerId": r.code,
               "repaidAmount": f"{applied:.2f}", "outstandingAmount": f"{rec.outstanding_amount:.2f}",
               "status": rec.status}
    outbox.emit(EventType.CREDIT_REPAYMENT_COMPLETED, "credit_record", rec.credit_record_id, payload)
    return amount - applied
