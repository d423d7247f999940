"""The payment receipt (回单): one per merged payment that has succeeded (fully or in part),
requested automatically when it completes (``on_merged_completed``, linked in
``services/connections.py``) or by the reseller from the payment page.

It confirms what was paid: the payer company, each successful allocation (order, payment order,
amount, channel, the bank's serial / channel transaction id, our transaction id, time), the total
in figures and in capital numerals (``domain/chinese_amount.py``), and a verification code with a
QR code for ``/verify/<code>``. Its figures come from ``checkout/queries.merged_payment``, the
query the payment page shows, so the PDF and the screen cannot disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ...domain.chinese_amount import capital_amount
from ...domain.enums import DocumentKind, MergedPaymentStatus, TransactionStatus
from ...domain.errors import NotFound, StateConflict
from ...domain.timeutil import SHANGHAI, utcnow
from ...extensions import db
from ...models import Document, MergedPayment, Reseller
from ..checkout import queries as payment_queries
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from . import registry, requests, verification

log = logging.getLogger(__name__)
RECEIPT = DocumentKind.RECEIPT.value  # the doc_type of a merged payment's receipt
PAID_STATES = frozenset({MergedPaymentStatus.SUCCEEDED, MergedPaymentStatus.PARTIALLY_SUCCEEDED})
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ReceiptLine:
    order_id: str
    payment_id: str
    payment_type: str
    amount: Decimal
    channel: str
    channel_kind: str
    bank_serial: str
    transaction_id: str
    paid_at: datetime | None


def _view(doc: Document) -> payment_queries.MergedView:
    assert doc.reseller_id is not None  # a receipt always has its payer
    view = payment_queries.merged_payment(doc.reseller_id, doc.params["mergedPaymentId"])
    if view is None:
        raise registry.BadDocumentData("The payment of this receipt no longer exists.")
    return view


def receipt_context(doc: Document) -> dict[str, Any]:
    """What the receipt shows, from the payment page's own query."""
    view = _view(doc)
    if view.mp.status not in PAID_STATES:
        raise registry.BadDocumentData(f"Payment {view.mp.merged_payment_id} has not succeeded "
                                       f"({view.mp.status}); a receipt confirms only what was paid.")
    lines = [ReceiptLine(ln.order_id, ln.payment_id, ln.payment_type, ln.amount, part.display_name("zh"),
                         part.cp.channel_kind, ln.channel_transaction_id or part.cp.channel_transaction_id or "—",
                         ln.transaction_id, ln.completed_at or part.cp.completed_at)
             for part in view.parts for ln in part.lines if ln.status == TransactionStatus.SUCCESS]
    if not lines:
        raise registry.BadDocumentData(f"Payment {view.mp.merged_payment_id} has no successful allocation; "
                                       "there is nothing to confirm.")
    total = sum((ln.amount for ln in lines), ZERO)
    reseller = db.session.get_one(Reseller, doc.reseller_id)
    return {"payment": view.mp, "company_name": reseller.name, "company_code": reseller.code,
            "lines": lines, "total": total, "total_capital": capital_amount(total), "screen_paid": view.paid,
            "issued_at": utcnow()}


def receipt_facts(doc: Document, context: dict[str, Any]) -> dict[str, Any]:
    """What /verify/<code> confirms: no order numbers, serials or accounts; the payer half masked."""
    paid_at = context["payment"].completed_at or context["issued_at"]
    return {"amount": f"{context['total']:.2f}", "date": paid_at.astimezone(SHANGHAI).date().isoformat(),
            "payer": verification.mask_name(context["company_name"]), "allocations": len(context["lines"])}


def receipt_version(params: dict[str, Any]) -> str:
    mp = db.session.scalar(sa.select(MergedPayment).where(MergedPayment.merged_payment_id == params["mergedPaymentId"]))
    return _outcome_version(mp) if mp is not None else "missing"


def _outcome_version(mp: MergedPayment) -> str:
    """A receipt changes only if the payment's outcome does (its status and when it completed)."""
    return f"{mp.status}|{mp.completed_at.isoformat() if mp.completed_at else ''}"


def receipt_file_name(doc: Document) -> str:
    return f"receipt-{doc.subject}.pdf"


RECEIPT_TYPE = registry.DocumentType(
    code=RECEIPT, kind=DocumentKind.RECEIPT, template="print/receipt.html", context=receipt_context,
    data_version=receipt_version, file_name=receipt_file_name, verifiable=True, facts=receipt_facts)


def register() -> None:
    registry.register(RECEIPT_TYPE)


def request_receipt(actor: Actor, mp: MergedPayment, requested_by_user_id: int | None = None) -> Document:
    """The receipt of ``mp`` (existing or new QUEUED), in the caller's transaction."""
    return requests.request(actor, RECEIPT, subject=mp.merged_payment_id, reseller_id=mp.reseller_id,
                            params={"mergedPaymentId": mp.merged_payment_id}, requested_by_user_id=requested_by_user_id,
                            data_version=_outcome_version(mp))


def ask_for_receipt(actor: Actor, reseller_id: int, merged_payment_id: str, user_id: int | None) -> str:
    """A reseller asks for the receipt of its own paid payment (one completed before receipts existed,
    say): the existing receipt or a new one; its number. NotFound for another company's payment,
    StateConflict for one with nothing paid."""
    with transaction():
        mp = db.session.scalar(sa.select(MergedPayment).where(MergedPayment.merged_payment_id == merged_payment_id,
                                                              MergedPayment.reseller_id == reseller_id))
        if mp is None:
            raise NotFound("no such payment")
        if mp.status not in PAID_STATES:
            raise StateConflict(f"payment {merged_payment_id} is {mp.status}: nothing to confirm yet")
        return request_receipt(actor, mp, requested_by_user_id=user_id).number


def on_merged_completed(mp: MergedPayment, actor: Actor) -> None:
    """Settlement's hook (in its transaction): a merged payment that ended with money paid gets its
    receipt; the render job is enqueued when the settlement commits. A receipt must never undo a
    settlement: the request runs in a savepoint, and if it fails the payment settles all the same
    (logged; the reseller can ask for the receipt from the payment page)."""
    if mp.status not in PAID_STATES:
        return
    try:
        with db.session.begin_nested():
            request_receipt(actor, mp)
    except Exception:
        log.exception("the receipt of %s could not be requested; the payment settles without it",
                      mp.merged_payment_id)
