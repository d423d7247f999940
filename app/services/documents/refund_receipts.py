"""The refund receipt (退款回单): one per refund once money went back (SUCCESS, or PARTIALLY_FAILED
with what succeeded), requested when the refund reaches that state (``on_refund_final``, linked in
``services/connections.py``). It shows the payer company, the order, each succeeded part (channel,
the bank's serial / channel refund id, our transaction id, the original payment transaction, time,
amount) and the total in figures and capital numerals, with a verification code and QR code. Its
figures come from ``refunds/queries.refund_row``, the query of the finance refunds screen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ...domain.chinese_amount import capital_amount
from ...domain.enums import DocumentKind, TransactionStatus
from ...domain.timeutil import SHANGHAI, utcnow
from ...extensions import db
from ...models import Document, PaymentOrder, PaymentTransaction, Refund
from ..platform.actor import SYSTEM
from ..refunds import queries as refund_queries
from ..refunds.part_settlement import REFUNDED
from . import registry, requests, verification

log = logging.getLogger(__name__)
REFUND_RECEIPT = "REFUND_RECEIPT"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RefundLine:
    transaction_id: str
    original_transaction_id: str
    channel: str
    bank_serial: str
    amount: Decimal
    refunded_at: datetime | None


def refund_context(doc: Document) -> dict[str, Any]:
    row = refund_queries.refund_row(doc.params["refundId"])
    if row is None:
        raise registry.BadDocumentData("The refund of this receipt no longer exists.")
    if row.refund.status not in REFUNDED:
        raise registry.BadDocumentData(f"Refund {row.refund.refund_id} is {row.refund.status}; a receipt "
                                       "confirms only money that went back.")
    lines = [RefundLine(p.txn.transaction_id, p.original_transaction_id or "—", p.txn.channel_code or "—",
                        p.txn.channel_transaction_id or "—", p.amount, p.txn.completed_at)
             for p in row.parts if p.txn.status == TransactionStatus.SUCCESS]
    if not lines:
        raise registry.BadDocumentData(f"Refund {row.refund.refund_id} has no succeeded part.")
    total = sum((ln.amount for ln in lines), ZERO)
    return {"refund": row.refund, "payment_id": row.payment_id, "order_id": row.order_id,
            "company_name": row.reseller_name, "company_code": row.reseller_code, "lines": lines, "total": total,
            "total_capital": capital_amount(total), "issued_at": utcnow()}


def refund_facts(doc: Document, context: dict[str, Any]) -> dict[str, Any]:
    done = context["refund"].completed_at or context["issued_at"]
    return {"amount": f"{context['total']:.2f}", "date": done.astimezone(SHANGHAI).date().isoformat(),
            "payer": verification.mask_name(context["company_name"]), "refund": True}


def refund_version(params: dict[str, Any]) -> str:
    """Changes when a retried part succeeds later: the refund's status and what has gone back."""
    refund = db.session.scalar(sa.select(Refund).where(Refund.refund_id == params["refundId"]))
    if refund is None:
        return "missing"
    back = db.session.scalar(sa.select(sa.func.count()).where(
        PaymentTransaction.refund_id == refund.id, PaymentTransaction.status == TransactionStatus.SUCCESS))
    return f"{refund.status}|{back}"


REFUND_RECEIPT_TYPE = registry.DocumentType(
    code=REFUND_RECEIPT, kind=DocumentKind.RECEIPT, template="print/refund_receipt.html", context=refund_context,
    data_version=refund_version, file_name=lambda doc: f"refund-receipt-{doc.subject}.pdf", verifiable=True,
    facts=refund_facts)


def register() -> None:
    registry.register(REFUND_RECEIPT_TYPE)


def on_refund_final(refund: Refund) -> None:
    """Refunds' hook (in the settling transaction): money went back, so the refund gets its receipt.
    In a savepoint: a receipt that cannot be requested never undoes the refund (it is logged)."""
    try:
        with db.session.begin_nested():
            reseller_id = db.session.scalar(sa.select(PaymentOrder.reseller_id)
                                            .where(PaymentOrder.id == refund.payment_order_id))
            requests.request(SYSTEM, REFUND_RECEIPT, subject=refund.refund_id, reseller_id=reseller_id,
                             params={"refundId": refund.refund_id})
    except Exception:
        log.exception("the receipt of refund %s could not be requested; the refund stands without it",
                      refund.refund_id)
