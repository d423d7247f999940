"""/approvals: the reseller approver's queue of payments above the company's approval threshold
(maker-checker, docs/DOMAIN.md §4 step 5): approve, or reject with a reason. The person who made a payment cannot
approve it (``payment_lifecycle.approve`` refuses; the screen does not offer it)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ...domain.errors import Forbidden, NotFound, StateConflict
from ...services.checkout import approval
from ...services.checkout import queries as payment_queries
from ...services.ledgers.credit_line import CreditUnavailable
from ...services.ledgers.wallet import InsufficientBalance
from ...services.platform.unit_of_work import discard
from .access import APPROVER, allow, reseller_id, web_actor
from .form_fields import entered

bp = Blueprint("approvals", __name__)


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Give a reason; the operator who made the payment will see it.")),
        Length(max=500)])


def _render(status: int = 200, *, errors: dict | None = None, reject_forms: dict | None = None):
    rid = reseller_id()
    views = payment_queries.awaiting_approval(rid)
    listed = {v.mp.merged_payment_id for v in views}
    errors = errors or {}
    # A payment that left the queue meanwhile has no card to put its message on: shown on top.
    general = [text for mid, text in errors.items() if mid not in listed]
    return render_template("reseller/approvals.html", views=views, funds=payment_queries.funds(rid), errors=errors,
                           general_errors=general, reject_forms=reject_forms or {}, user_id=current_user.id,
                           lang=str(get_locale() or "zh")), status


@bp.get("/approvals")
@allow(APPROVER)
def index():
    return _render()


@bp.post("/approvals/<merged_payment_id>/approve")
@allow(APPROVER)
def approve(merged_payment_id: str):
    try:
        approval.approve(web_actor(), current_user.id, current_user.role, reseller_id(), merged_payment_id)
    except NotFound:
        abort(404)
    except Forbidden:
        discard()
        return _render(403, errors={merged_payment_id: _("You made this payment; another approver must approve it.")})
    except (InsufficientBalance, CreditUnavailable, StateConflict) as exc:
        discard()
        text = (_("The wallet balance is no longer enough for this payment; reject it or top up the wallet first.")
                if isinstance(exc, InsufficientBalance) else
                _("The available credit is no longer enough for this payment; reject it.")
                if isinstance(exc, CreditUnavailable) else
                _("This payment is no longer waiting for approval."))
        return _render(409, errors={merged_payment_id: text})
    flash(_("Payment %(id)s was approved and has started.", id=merged_payment_id), "success")
    return redirect(url_for("approvals.index"), 303)


@bp.post("/approvals/<merged_payment_id>/reject")
@allow(APPROVER)
def reject(merged_payment_id: str):
    form = RejectForm()
    if not form.validate():
        if payment_queries.merged_payment(reseller_id(), merged_payment_id) is None:
            abort(404)
        return _render(422, reject_forms={merged_payment_id: form})
    try:
        approval.reject(web_actor(), current_user.role, reseller_id(), merged_payment_id,
                                 entered(form.reason).strip())
    except NotFound:
        abort(404)
    except StateConflict:
        discard()
        return _render(409, errors={merged_payment_id: _("This payment is no longer waiting for approval.")})
    flash(_("Payment %(id)s was rejected; its orders can be paid again.", id=merged_payment_id), "success")
    return redirect(url_for("approvals.index"), 303)
