"""The differences on /finance/reconciliation (docs/SCREENS.md): one form per open exception offering
only the actions that fit its class and its payment's state (``reconciliation/exception_actions.py``):
ask the channel again, accept the channel's figure, link to a payment, reverse what the channel did not
take, write off; a note is always
required. An action above the approval threshold waits for a second finance user, who approves or
rejects it here (``exception_approval.py``). The service locks, re-checks and audits; a refused
action changes nothing and shows its error next to its field."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from ...domain.enums import ReconAction
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...services.ledgers import wallet_changes
from ...services.reconciliation import exception_actions as actions
from ...services.reconciliation import exception_approval as approval
from ...services.reconciliation import reversal
from ...services.reconciliation.notes import NOTE_LENGTH
from ...services.reconciliation.resolution import AlreadyResolved, WaitsForApproval
from .access import FINANCE, allow, web_actor
from .finance_reconciliation import page_context
from .finance_refunds import safe_back
from .form_fields import strip_text

bp = Blueprint("finance_recon_exceptions", __name__)
PAGE = "finance/reconciliation.html"
CHOSEN = tuple(a.value for a in ReconAction if a != ReconAction.SYSTEM)


class ExceptionForm(FlaskForm):
    """One form per exception; the action is a radio (a form without one is a write-off: the note
    alone, as before actions existed)."""

    action = StringField(_l("Action"), filters=[strip_text])
    payment = StringField(_l("Payment number (CP…)"), filters=[strip_text])
    note = TextAreaField(_l("Why it is resolved"), filters=[strip_text])
    reason = TextAreaField(_l("Why the request is rejected"), filters=[strip_text])


def _page(exception_id: int, form: ExceptionForm, status: int, problem: str | None = None):
    return render_template(PAGE, **page_context({exception_id: form}, problem=problem)), status


def _done(message: str):
    flash(message, "success")
    return redirect(safe_back(url_for("finance_reconciliation.index"), "/finance/reconciliation"))


def _checked(form: ExceptionForm) -> bool:
    ok = True
    if not form.note.data:
        form.note.errors = [_("Say why the difference is resolved.")]
        ok = False
    elif len(form.note.data) > NOTE_LENGTH:
        form.note.errors = [_("Keep the note under 500 characters.")]
        ok = False
    if form.action.data not in CHOSEN:
        form.action.errors = [_("Choose one of the actions offered.")]
        ok = False
    if form.action.data == ReconAction.LINK_PAYMENT and not form.payment.data:
        form.payment.errors = [_("Enter the number of the payment the line belongs to.")]
        ok = False
    return ok


def _reversal_refused(exc: reversal.ReversalRefused) -> str:
    """Why a reversal cannot be made, in the reader's language."""
    return {
        reversal.NOTHING_TO_REVERSE: _("We do not hold more as received than the channel took: nothing to reverse "
                                       "(reversed before?). Nothing was changed."),
        reversal.REFUNDED_SINCE: _("Part of this money has been refunded (or is being refunded) since: reversing it "
                                   "would leave less paid than refunded. Nothing was changed."),
        reversal.WALLET_SPENT: _("The excess this payment credited to the reseller's wallet has been spent: the "
                                 "wallet would go below 0. Nothing was changed."),
        reversal.REPAYMENT_ORDER: _("A credit repayment cannot be reversed here (it would reopen a credit record): "
                                     "write it off. Nothing was changed."),
    }.get(exc.reason, exc.message)


def _refused(exception_id: int, form: ExceptionForm, exc: Exception):
    """A refusal of the service, worded for the reader, next to its field (or above the page)."""
    if isinstance(exc, WaitsForApproval):
        return _page(exception_id, form, 409, _("This difference waits for a second finance user's approval. "
                                                "Nothing was changed."))
    if isinstance(exc, AlreadyResolved):
        return _page(exception_id, form, 409, _("That difference was already resolved (by another finance user). "
                                                "Nothing was changed."))
    if isinstance(exc, wallet_changes.DuplicateSerial):
        form.action.errors = [_("This channel transaction was already credited to the reseller's wallet. "
                                "Nothing was stored.")]
        return _page(exception_id, form, 409)
    if isinstance(exc, reversal.ReversalRefused):
        form.action.errors = [_reversal_refused(exc)]
        return _page(exception_id, form, 409)
    if isinstance(exc, StateConflict):
        return _page(exception_id, form, 409, _("The payment changed meanwhile. Nothing was changed: look again."))
    assert isinstance(exc, ValidationFailed)
    field_name = (exc.errors or [{}])[0].get("field") or ""
    if isinstance(exc, actions.ActionDoesNotFit):
        form.action.errors = [_("This action does not fit this difference now. Choose one of the actions offered.")]
    elif field_name == "payment":
        form.payment.errors = [_("No payment of this channel agrees with the line under this number (amount or "
                                 "state). Nothing was changed.")]
    elif field_name == "action":
        form.action.errors = [_("The channel's line has no amount to accept. Nothing was changed.")]
    else:
        form.note.errors = [_("Not accepted: %(reason)s", reason=exc.message)]
    return _page(exception_id, form, 422)


@bp.post("/finance/reconciliation/exceptions/<int:exception_id>/resolve")
@allow(FINANCE)
def resolve(exception_id: int):
    form = ExceptionForm()
    if not form.validate_on_submit():
        abort(400)  # only a missing or bad CSRF token fails here (the fields are checked below)
    form.action.data = form.action.data or ReconAction.WRITE_OFF.value
    if not _checked(form):
        return _page(exception_id, form, 422)
    try:
        outcome = actions.act(web_actor(), current_user.id, exception_id, form.action.data or "",
                              form.note.data or "", form.payment.data)
    except NotFound:
        abort(404)
    except (ValidationFailed, StateConflict) as exc:
        return _refused(exception_id, form, exc)
    if outcome == actions.WAITING:
        return _done(_("The amount is above the reseller's approval threshold: the action waits for a second "
                       "finance user."))
    if outcome != actions.RESOLVED:
        answers = {"pending": _("the payment is still pending there"), "retry": _("the bank did not answer"),
                   "mismatch": _("the bank reports another amount"), "unknown": _("the bank does not know it")}
        return _done(_("The channel has no final answer yet (%(answer)s): the difference stays open.",
                       answer=answers.get(outcome, outcome)))
    return _done(_("The difference is resolved; your note is kept with it."))


def _decide(exception_id: int, decide):
    form = ExceptionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        decide(form)
    except NotFound:
        abort(404)
    except wallet_changes.SameUser:
        return _page(exception_id, form, 403, _("You asked for this action: a second finance user must approve or "
                                                "reject it. Nothing was changed."))
    except StateConflict as exc:
        if isinstance(exc, reversal.ReversalRefused):
            return _page(exception_id, form, 409, _("%(reason)s Reject the request.", reason=_reversal_refused(exc)))
        if isinstance(exc, approval.NothingWaits | AlreadyResolved):
            return _page(exception_id, form, 409, _("Nothing waits for an approval on this difference (already "
                                                    "decided by another finance user). Nothing was changed."))
        return _page(exception_id, form, 409, _("The payment changed meanwhile. Nothing was changed: reject the "
                                                "request."))
    except ValidationFailed:
        form.reason.errors = [_("Give the reason for rejecting the request.")]
        return _page(exception_id, form, 422)
    return None


@bp.post("/finance/reconciliation/exceptions/<int:exception_id>/approve")
@allow(FINANCE)
def approve(exception_id: int):
    refused = _decide(exception_id, lambda form: approval.approve(web_actor(), current_user.id, exception_id))
    return refused or _done(_("Approved: the action is carried out and the difference is resolved."))


@bp.post("/finance/reconciliation/exceptions/<int:exception_id>/reject")
@allow(FINANCE)
def reject(exception_id: int):
    refused = _decide(exception_id, lambda form: approval.reject(web_actor(), current_user.id, exception_id,
                                                                 form.reason.data or ""))
    return refused or _done(_("Rejected: the difference is open again; nothing moved."))
