"""Refunds that touch credit (docs/DOMAIN.md §5, §6) and their ``credit_repayment.*`` events for the
credit system. Both run in the caller's transaction; lock order reseller -> credit record.

- A CREDIT part (refunding a payment made with the credit line) reduces the credit record that
  payment opened and the used credit; what was already repaid beyond the new amount goes to the
  reseller's wallet. When the record changes: ``credit_repayment.completed`` (``source`` refund).
- A refund of a CREDIT_REPAYMENT order gives the repayment back, so the debt it paid off comes back:
  when such a part succeeds, the record's outstanding amount and the used credit go up again by what
  that payment had repaid (never more, never above the record's amount), the record is OPEN again,
  and ``credit_repayment.failed`` (``reason`` refunded) tells the credit system. A repayment paid
  beyond the outstanding amount had its excess put in the wallet when it was paid; refunding that
  excess as well raises an alert for finance instead of touching the wallet.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import CreditEntryType, CreditRecordStatus, TransactionType, WalletEntryType
from ...domain.event_types import EventType
from ...domain.money import money_str
from ...extensions import db
from ...models import CreditEntry, CreditRecord, PaymentOrder, PaymentTransaction, Refund
from ..alerts import raising as alerts
from ..ledgers import wallet
from ..ledgers.credit_line import add_entry as credit_entry
from ..ledgers.wallet import lock_reseller
from ..ledgers.wallet_memos import WalletMemo
from ..platform import outbox
from ..platform.actor import Actor

ZERO = Decimal("0.00")


def _lock_record(condition: sa.ColumnElement[bool]) -> CreditRecord | None:
    return db.session.scalar(sa.select(CreditRecord).where(condition).with_for_update())


def _event(rec: CreditRecord, reseller_code: str, refund: Refund, **extra: object) -> dict:
    return {"creditRecordId": rec.credit_record_id, "orderId": rec.order_id, "resellerId": reseller_code,
            "outstandingAmount": money_str(rec.outstanding_amount), "status": rec.status, "source": "refund",
            "refundOrderId": refund.refund_order_id, **extra}


def refund_credit_part(part: PaymentTransaction, order: PaymentOrder, orig: PaymentTransaction, refund: Refund,
                       actor: Actor) -> None:
    """A CREDIT part: reduce the credit record ``orig`` opened; what was already repaid goes to the wallet."""
    amount = -part.amount
    r = lock_reseller(order.reseller_id)
    rec = _lock_record(CreditRecord.transaction_id == orig.id)
    applied = ZERO
    if rec is not None:
        applied = min(amount, rec.outstanding_amount)
        if applied > 0:
            rec.outstanding_amount -= applied
            rec.status = CreditRecordStatus.REPAID if rec.outstanding_amount == 0 else rec.status
            r.credit_used -= applied
            credit_entry(r, rec.id, CreditEntryType.REFUND, -applied, part.transaction_id, actor.label)
            outbox.emit(EventType.CREDIT_REPAYMENT_COMPLETED, "credit_record", rec.credit_record_id,
                        _event(rec, r.code, refund, repaidAmount=money_str(applied)))
    rest = amount - applied
    if rest > 0:
        wallet.post(order.reseller_id, rest, WalletEntryType.REFUND, reference=part.transaction_id, actor=actor.label,
                    memo=WalletMemo.refund_credit_already_repaid(refund.refund_order_id))
    part.channel_transaction_id = rec.credit_record_id if rec is not None else None


def reverse_repayment(part: PaymentTransaction, order: PaymentOrder, orig: PaymentTransaction, refund: Refund,
                      actor: Actor) -> None:
    """A part refunding a CREDIT_REPAYMENT order succeeded: the debt ``orig`` repaid comes back."""
    amount = -part.amount
    r = lock_reseller(order.reseller_id)
    rec = _lock_record(CreditRecord.credit_record_id == order.related_business_id)
    if rec is None:
        alerts.raise_alert("refunded_repayment_without_record", f"refund {refund.refund_order_id} of repayment "
                           f"order {order.payment_id}: credit record {order.related_business_id} not found")
        return
    repaid = -(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount), 0)).where(
        CreditEntry.credit_record_id == rec.id, CreditEntry.entry_type == CreditEntryType.REPAY,
        CreditEntry.reference == orig.transaction_id)) or ZERO)
    sibling_parts = sa.select(PaymentTransaction.transaction_id).where(
        PaymentTransaction.original_transaction_id == orig.id,
        PaymentTransaction.transaction_type == TransactionType.REFUND)
    reversed_before = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount), 0)).where(
        CreditEntry.credit_record_id == rec.id, CreditEntry.entry_type == CreditEntryType.REPAY_REVERSED,
        CreditEntry.reference.in_(sibling_parts))) or ZERO
    back = max(ZERO, min(amount, Decimal(repaid) - Decimal(reversed_before), rec.amount - rec.outstanding_amount))
    if back > 0:
        rec.outstanding_amount += back
        rec.status = CreditRecordStatus.OPEN
        r.credit_used += back
        credit_entry(r, rec.id, CreditEntryType.REPAY_REVERSED, back, part.transaction_id, actor.label)
        outbox.emit(EventType.CREDIT_REPAYMENT_FAILED, "credit_record", rec.credit_record_id, _event(
            rec, r.code, refund, reason="refunded", reversedAmount=money_str(back), paymentId=order.payment_id,
            transactionId=orig.transaction_id))
    if back < amount:
        alerts.raise_alert("refunded_repayment_excess", f"refund {refund.refund_order_id} gave back "
                           f"{money_str(amount)} of repayment {orig.transaction_id}, which had repaid only "
                           f"{money_str(back)} more of {rec.credit_record_id}; the rest was wallet excess",
                           refundOrderId=refund.refund_order_id, creditRecordId=rec.credit_record_id,
                           notReopened=money_str(amount - back))
