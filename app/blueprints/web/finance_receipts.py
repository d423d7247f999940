"""The unidentified receipts queue on /finance/reconciliation (docs/SCREENS.md): finance decides an
OPEN bank receipt with one form per receipt (one note for every action) and the action's button:
accept a suggested wire payment, link it to a payment by its number or reference code, assign it to
a reseller's wallet (above the reseller's approval threshold it waits for a second finance user, who
approves or rejects here or on /finance/wallets), or mark it returned. The service
(``reconciliation/receipt_actions.py``) locks the receipt, re-checks and audits; a refused action
changes nothing and shows its error next to the field."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, StringField, TextAreaField

from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...extensions import db
from ...i18n import money
from ...models import BankReceipt
from ...services.ledgers import wallet_changes
from ...services.ledgers.wallet import InsufficientBalance
from ...services.reconciliation import receipt_actions as actions
from ...services.reconciliation.notes import NOTE_LENGTH
from .access import FINANCE, allow, web_actor
from .finance_reconciliation import page_context
from .form_fields import strip_text

bp = Blueprint("finance_receipts", __name__)
PAGE = "finance/reconciliation.html"


class ReceiptForm(FlaskForm):
    """One form per receipt; each button posts it to its action, which reads the fields it needs."""

    payment = StringField(_l("Suggested payment"), filters=[strip_text])  # a suggestion's radio
    payment_code = StringField(_l("Payment number or reference code"), filters=[strip_text])
    shortfall = BooleanField(_l("Accept the shortfall (less arrived than the payment expects)"))
    reseller = StringField(_l("Reseller code"), filters=[strip_text])
    note = TextAreaField(_l("Note (why; kept with the receipt)"), filters=[strip_text])


def _receipt_or_404(receipt_id: int) -> BankReceipt:
    r = db.session.get(BankReceipt, receipt_id)
    if r is None:
        abort(404)
    return r


def _note_ok(form: ReceiptForm, missing: str) -> bool:
    if not form.note.data:
        form.note.errors = [missing]
        return False
    if len(form.note.data) > NOTE_LENGTH:
        form.note.errors = [_("Keep the note under 500 characters.")]
        return False
    return True


def _page(receipt_id: int, form: ReceiptForm, status: int, problem: str | None = None):
    return render_template(PAGE, **page_context(receipt_forms={receipt_id: form}, problem=problem)), status


def _refused(receipt_id: int, form: ReceiptForm, exc: Exception):
    """A refusal of the service, worded for the reader, next to its field (or above the page)."""
    if isinstance(exc, actions.AlreadyDecided):
        return _page(receipt_id, form, 409, _("This receipt was already decided by another finance user, or it "
                                              "waits for a second finance user's approval. Nothing was changed."))
    if isinstance(exc, actions.PaymentNotOpen):
        field = form.payment_code if form.payment_code.data else form.payment
        field.errors = [_("This payment is not waiting for money (already confirmed, failed or expired, or not yet "
                          "approved). Choose another one. Nothing was changed.")]
        return _page(receipt_id, form, 409)
    if isinstance(exc, wallet_changes.DuplicateSerial):
        form.reseller.errors = [_("This bank reference was already used for a top-up of this reseller. "
                                  "Nothing was stored.")]
        return _page(receipt_id, form, 409)
    if isinstance(exc, InsufficientBalance):
        return _page(receipt_id, form, 409, _("The wallet could not be credited. Nothing was stored."))
    assert isinstance(exc, ValidationFailed)
    field_name = (exc.errors or [{}])[0].get("field") or ""
    messages: dict[str, tuple[Field, str]] = {
        "payment": (form.payment_code if form.payment_code.data else form.payment,
                    _("No wire payment has this number or reference code.")),
        "shortfall": (form.shortfall, _("Less arrived than this payment expects: tick “Accept the shortfall” to "
                                        "confirm it for what arrived, or choose another action.")),
        "reseller": (form.reseller, _("No reseller has this code.")),
    }
    field, message = messages.get(field_name, (form.note, _("Not accepted: %(reason)s", reason=exc.message)))
    field.errors = [message]
    return _page(receipt_id, form, 422)


def _done(message: str):
    flash(message, "success")
    return redirect(url_for("finance_reconciliation.index") + "#wire-statement")


@bp.post("/finance/reconciliation/receipts/<int:receipt_id>/accept")
@allow(FINANCE)
def accept(receipt_id: int):
    """A suggestion accepted (its radio) or a payment named by hand (the code field wins when filled)."""
    r = _receipt_or_404(receipt_id)
    form = ReceiptForm()
    if not form.validate_on_submit():
        abort(400)  # only a missing or bad CSRF token fails here (the fields are checked below)
    payment = form.payment_code.data or form.payment.data
    ok = _note_ok(form, _("Say why this payment is the one (the note is kept with the receipt)."))
    if not payment:
        form.payment_code.errors = [_("Choose a suggested payment or enter a payment number or reference code.")]
        ok = False
    if not ok:
        return _page(r.id, form, 422)
    try:
        actions.accept(web_actor(), r.id, payment or "", form.note.data or "",
                       actions.SHORTFALL_ACCEPT if form.shortfall.data else None)
    except (ValidationFailed, actions.AlreadyDecided, actions.PaymentNotOpen) as exc:
        return _refused(r.id, form, exc)
    return _done(_("The receipt of %(amount)s confirmed the wire payment.", amount=money(r.amount)))


@bp.post("/finance/reconciliation/receipts/<int:receipt_id>/assign")
@allow(FINANCE)
def assign(receipt_id: int):
    r = _receipt_or_404(receipt_id)
    form = ReceiptForm()
    if not form.validate_on_submit():
        abort(400)
    ok = _note_ok(form, _("Say why the money belongs to this reseller (the note is kept with the receipt)."))
    if not form.reseller.data:
        form.reseller.errors = [_("Enter the code of the reseller whose wallet is credited.")]
        ok = False
    if not ok:
        return _page(r.id, form, 422)
    try:
        done = actions.assign(web_actor(), current_user.id, r.id, form.reseller.data or "", form.note.data or "")
    except (ValidationFailed, actions.AlreadyDecided, wallet_changes.DuplicateSerial, InsufficientBalance) as exc:
        return _refused(r.id, form, exc)
    if done.state == "OPEN":
        return _done(_("%(amount)s is above the reseller's approval threshold: the assignment waits for a second "
                       "finance user.", amount=money(r.amount)))
    return _done(_("%(amount)s credited to the wallet of %(reseller)s.", amount=money(r.amount),
                   reseller=form.reseller.data))


@bp.post("/finance/reconciliation/receipts/<int:receipt_id>/return")
@allow(FINANCE)
def return_receipt(receipt_id: int):
    r = _receipt_or_404(receipt_id)
    form = ReceiptForm()
    if not form.validate_on_submit():
        abort(400)
    if not _note_ok(form, _("Give the reason the money was sent back.")):
        return _page(r.id, form, 422)
    try:
        actions.return_receipt(web_actor(), r.id, form.note.data or "")
    except (ValidationFailed, actions.AlreadyDecided) as exc:
        return _refused(r.id, form, exc)
    return _done(_("The receipt of %(amount)s is marked returned.", amount=money(r.amount)))


def _decide(receipt_id: int, decide):
    r = _receipt_or_404(receipt_id)
    form = ReceiptForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        change_id = actions.pending_change_id(r.id)
        decide(change_id, form)
    except wallet_changes.SameUser:
        return _page(r.id, form, 403, _("You assigned this receipt: a second finance user must approve or reject "
                                        "it. Nothing was changed."))
    except StateConflict:
        return _page(r.id, form, 409, _("This assignment was already decided by another finance user. "
                                        "Nothing was changed."))
    except NotFound:
        abort(404)
    except ValidationFailed:
        form.note.errors = [_("Give the reason for rejecting the assignment.")]
        return _page(r.id, form, 422)
    return None


@bp.post("/finance/reconciliation/receipts/<int:receipt_id>/approve")
@allow(FINANCE)
def approve(receipt_id: int):
    refused = _decide(receipt_id, lambda change_id, form: wallet_changes.approve(web_actor(), current_user.id,
                                                                                 change_id))
    return refused or _done(_("Approved: the receipt is credited to the reseller's wallet."))


@bp.post("/finance/reconciliation/receipts/<int:receipt_id>/reject")
@allow(FINANCE)
def reject(receipt_id: int):
    refused = _decide(receipt_id, lambda change_id, form: wallet_changes.reject(
        web_actor(), current_user.id, change_id, form.note.data or ""))
    return refused or _done(_("Rejected: the receipt is open again; the wallet did not move."))
