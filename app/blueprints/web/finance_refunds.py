"""/finance/refunds: refund instructions and their parts (one REFUND transaction per original payment
transaction), filtered by status, refundOrderId, paymentId and creation date; finance retries a FAILED
part (``refunds.retry_part``: a new part for the same amount on the same channel, audited) and sees why
it failed."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...domain.enums import TransactionStatus
from ...domain.errors import DomainError
from ...domain.timeutil import in_date_range
from ...labels import label
from ...services.refunds import queries as refund_queries
from ...services.refunds import retry as refund_retry
from ...services.refunds.queries import RefundFilter
from .access import FINANCE, allow, web_actor
from .form_fields import date_range_message
from .rendering import choice_arg, page_arg, render_screen, wants_fragment

bp = Blueprint("finance_refunds", __name__)


def text_arg(name: str, limit: int = 64) -> str:
    return (request.args.get(name) or "").strip()[:limit]


def date_args(errors: dict) -> tuple[date | None, date | None]:
    """``createdFrom`` / ``createdTo`` (YYYY-MM-DD, Shanghai days); a bad one is reported and ignored."""
    values = []
    for name in ("createdFrom", "createdTo"):
        text, value = text_arg(name, 10), None
        if text:
            try:
                value = date.fromisoformat(text)
            except ValueError:
                errors[name] = _("Enter a date like 2026-11-30.")
            if value is not None and not in_date_range(value):
                errors[name], value = date_range_message(), None
        values.append(value)
    if values[0] and values[1] and values[1] < values[0]:
        errors["createdTo"] = _("The end date is before the start date.")
        values[1] = None
    return values[0], values[1]


def safe_back(default: str, prefix: str) -> str:
    """Where to go after a form post: the list with its filters, only ever a path of this screen."""
    target = request.form.get("back") or ""
    if target.startswith(prefix) and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _context() -> dict:
    errors: dict[str, str] = {}
    created_from, created_to = date_args(errors)
    f = RefundFilter(status=choice_arg("status", refund_queries.STATUSES),
                     refund_order_id=text_arg("refundOrderId") or None, payment_id=text_arg("paymentId") or None,
                     created_from=created_from, created_to=created_to)
    return {"rows": refund_queries.list_refunds(f, page_arg()), "errors": errors,
            "statuses": refund_queries.STATUSES,
            "with_failures": refund_queries.refunds_with_failures(),
            "args": {"status": f.status or "", "refundOrderId": text_arg("refundOrderId"),
                     "paymentId": text_arg("paymentId"), "createdFrom": text_arg("createdFrom", 10),
                     "createdTo": text_arg("createdTo", 10)}}


@bp.get("/finance/refunds")
@allow(FINANCE)
def index():
    return render_screen("finance/refunds.html", "finance/_refund_list.html", **_context())


@bp.post("/finance/refunds/parts/<transaction_id>/retry")
@allow(FINANCE)
def retry(transaction_id: str):
    found = refund_queries.refund_part(transaction_id)
    if found is None:
        abort(404)
    part_pk, refund_id = found
    row = refund_queries.refund_row(refund_id)
    assert row is not None  # the refund of a part that exists
    part = next(p for p in row.parts if p.txn.id == part_pk)
    status, category = 409, "error"
    if part.txn.status != TransactionStatus.FAILED:
        message = _("Only a failed part can be retried; %(txn)s is %(status)s.", txn=transaction_id,
                    status=label(part.txn.status))
    elif not part.retryable:
        message = _("Nothing is left to retry for %(txn)s: a retry of this refund already succeeded or is under "
                    "way.", txn=transaction_id)
    else:
        try:
            new = refund_retry.retry_part(web_actor(), part_pk)
        except DomainError as exc:
            message = _("The retry was refused: %(reason)s", reason=exc.message)
        else:
            status, category = 200, "success"
            message = _("Retry of %(txn)s sent as %(new)s: %(status)s.", txn=transaction_id, new=new.transaction_id,
                        status=label(new.status))
    if wants_fragment():
        row = refund_queries.refund_row(refund_id)
        return render_template("finance/_refund.html", row=row, message=message, category=category), status
    flash(message, category)
    return redirect(safe_back(url_for("finance_refunds.index"), "/finance/refunds"))
