"""/finance/disbursements: payouts (代付) with filters (status, merchant, requestId, creation date) and the
MANUAL queue — orders whose bank answer stayed unknown after polling, which finance settles from the bank
statement as SUCCESS (with the bank serial number) or FAILED (with a reason) through
``payouts/manual.settle_manual`` (audited, notifies like any final state). Account numbers appear only
masked (``6222 **** **** 1234``): the screens never read the encrypted one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from ...domain.enums import DisbursementStatus
from ...domain.errors import DomainError, NotFound, StateConflict, ValidationFailed
from ...labels import label
from ...services.payouts import batch_queries
from ...services.payouts import manual as payout_manual
from ...services.payouts import queries as payout_queries
from ...services.payouts.queries import PayoutFilter
from .access import FINANCE, allow, web_actor
from .batch_forms import upload_form
from .finance_refunds import date_args, safe_back, text_arg
from .form_fields import strip_text
from .rendering import choice_arg, page_arg, render_screen, wants_fragment

bp = Blueprint("finance_disbursements", __name__)


class PaidForm(FlaskForm):
    bankSerialNo = StringField(_l("Bank serial number"), filters=[strip_text])  # noqa: N815 (API name)

    def validate_bankSerialNo(self, field):  # noqa: N802
        if not field.data:
            raise ValidationError(_("Enter the bank serial number from the bank statement."))
        if len(field.data) > 64 or any(ch.isspace() or not ch.isprintable() for ch in field.data):
            raise ValidationError(_("A bank serial number has at most 64 characters and no spaces."))


class FailedForm(FlaskForm):
    reason = TextAreaField(_l("Why the payout failed"), filters=[strip_text])

    def validate_reason(self, field):
        if not field.data:
            raise ValidationError(_("Give the reason the payout failed."))
        if len(field.data) > 500:
            raise ValidationError(_("Keep the reason under 500 characters."))


def index_context(forms: dict | None = None, problem: str | None = None) -> dict:
    """The page's context: payouts (filtered), the MANUAL queue, recent batches and the batch upload form."""
    errors: dict[str, str] = {}
    created_from, created_to = date_args(errors)
    f = PayoutFilter(status=choice_arg("status", payout_queries.STATUSES),
                     merchant_id=text_arg("merchantId", 32) or None, request_id=text_arg("requestId") or None,
                     created_from=created_from, created_to=created_to)
    return {"rows": payout_queries.list_payouts(f, page_arg()), "errors": errors,
            "manual": payout_queries.manual_queue(), "merchants": payout_queries.merchants(),
            "statuses": payout_queries.STATUSES, "forms": forms or {}, "problem": problem,
            "batches": batch_queries.recent(), "upload": upload_form(False), "batch_problems": [],
            "batch_file_problem": None,
            "args": {"status": f.status or "", "merchantId": text_arg("merchantId", 32),
                     "requestId": text_arg("requestId"), "createdFrom": text_arg("createdFrom", 10),
                     "createdTo": text_arg("createdTo", 10)}}


@bp.get("/finance/disbursements")
@allow(FINANCE)
def index():
    return render_screen("finance/disbursements.html", "finance/_payout_list.html", **index_context())


def _problem(order_no: str, paid: PaidForm, failed: FailedForm, status: int, problem: str | None = None):
    if wants_fragment():
        row = payout_queries.payout_row(order_no)
        return render_template("finance/_payout_manual.html", p=row, paid=paid, failed=failed,
                               problem=problem), status
    return render_template("finance/disbursements.html", **index_context({order_no: (paid, failed)}, problem)), status


@bp.post("/finance/disbursements/<order_no>/settle")
@allow(FINANCE)
def settle(order_no: str):
    row = payout_queries.payout_row(order_no)
    if row is None:
        abort(404)
    outcome = request.form.get("outcome", "")
    paid = PaidForm() if outcome == DisbursementStatus.SUCCESS else PaidForm(formdata=None)
    failed = FailedForm() if outcome == DisbursementStatus.FAILED else FailedForm(formdata=None)
    if row.status != DisbursementStatus.MANUAL:
        return _problem(order_no, paid, failed, 409, _already_settled(row))
    form = paid if outcome == DisbursementStatus.SUCCESS else failed if outcome == DisbursementStatus.FAILED else None
    if form is None:
        abort(400)
    if not form.validate_on_submit():
        return _problem(order_no, paid, failed, 422)
    try:
        payout_manual.settle_manual(web_actor(), current_user.role, order_no, outcome,
                                    bank_serial_no=paid.bankSerialNo.data if form is paid else None,
                                    reason=failed.reason.data if form is failed else None)
    except StateConflict:
        return _problem(order_no, paid, failed, 409, _already_settled(payout_queries.payout_row(order_no)))
    except ValidationFailed as exc:
        target = paid.bankSerialNo if form is paid else failed.reason
        target.errors = [_("Not accepted: %(reason)s", reason=exc.message)]
        return _problem(order_no, paid, failed, 422)
    except (NotFound, DomainError):
        abort(404)
    if form is paid:
        message = _("%(order)s settled as paid (bank serial number %(serial)s). The merchant is notified.",
                    order=order_no, serial=paid.bankSerialNo.data)
    else:
        message = _("%(order)s settled as failed. The merchant is notified.", order=order_no)
    if wants_fragment():
        return render_template("finance/_payout_manual.html", p=payout_queries.payout_row(order_no),
                               done=message)
    flash(message, "success")
    return redirect(safe_back(url_for("finance_disbursements.index"), "/finance/disbursements"))


def _already_settled(row) -> str:
    return _("%(order)s is already %(status)s (by the bank or another finance user). Nothing was changed.",
             order=row.order_no, status=label(row.status))
