"""/finance/wallets: every reseller's wallet (企业寄存资金) for finance (docs/SCREENS.md, DOMAIN.md §5):
balances, a reseller's ledger, a top-up (a deposit received, with its bank serial) and an adjustment
(signed, with a reason). Above the reseller's approval threshold a change waits for a second finance
user, who approves or rejects it here. The service (``ledgers.wallet_changes``) locks, re-checks and
audits; a refused change stores nothing and shows the error next to its field."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...extensions import db
from ...i18n import money
from ...models import Reseller
from ...services.ledgers import queries as ledger_queries
from ...services.ledgers import wallet_changes
from ...services.ledgers.wallet import InsufficientBalance
from .access import FINANCE, allow, web_actor
from .form_fields import amount_field_check, entered, signed_amount_field_check, strip_text
from .rendering import page_arg, render_screen

bp = Blueprint("finance_wallets", __name__)


class TopUpForm(FlaskForm):
    amount = StringField(_l("Amount received"), filters=[strip_text])
    bankSerial = StringField(_l("Bank serial number"), filters=[strip_text])
    memo = StringField(_l("Note (optional)"), filters=[strip_text])

    def validate_amount(self, field):
        self.value = amount_field_check(field.data)

    def validate_bankSerial(self, field):  # noqa: N802 (named as in the API)
        if not field.data:
            raise ValidationError(_("Enter the bank serial number of the deposit."))
        if len(field.data) > 64:
            raise ValidationError(_("Keep the bank serial number under 64 characters."))

    def validate_memo(self, field):
        if field.data and len(field.data) > 500:
            raise ValidationError(_("Keep the note under 500 characters."))


class AdjustForm(FlaskForm):
    amount = StringField(_l("Adjustment (−100.00 decreases)"), filters=[strip_text])
    reason = TextAreaField(_l("Reason"), filters=[strip_text])

    def validate_amount(self, field):
        self.value = signed_amount_field_check(field.data)

    def validate_reason(self, field):
        if not field.data:
            raise ValidationError(_("Give the reason for the adjustment."))
        if len(field.data) > 500:
            raise ValidationError(_("Keep the reason under 500 characters."))


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason for rejecting"), filters=[strip_text])


@bp.get("/finance/wallets")
@allow(FINANCE)
def index():
    return render_template("finance/wallets.html", rows=ledger_queries.wallet_overview(),
                           pending=ledger_queries.pending_changes(), me=current_user.id)


def _reseller_or_404(reseller_id: int) -> Reseller:
    r = db.session.get(Reseller, reseller_id)
    if r is None:
        abort(404)
    return r


def _detail(reseller_id: int, topup=None, adjust=None, status: int = 200, problem: str | None = None):
    r = _reseller_or_404(reseller_id)
    context = {"r": r, "entries": ledger_queries.wallet_entries(r.id, page_arg()),
               "changes": ledger_queries.recent_changes(r.id),
               "pending": ledger_queries.pending_changes(r.id), "me": current_user.id,
               "topup": topup or TopUpForm(formdata=None), "adjust": adjust or AdjustForm(formdata=None),
               "problem": problem}
    return render_screen("finance/wallet.html", "finance/_wallet_entries.html", status, **context)


@bp.get("/finance/wallets/<int:reseller_id>")
@allow(FINANCE)
def detail(reseller_id: int):
    return _detail(reseller_id)


def _negative_message(r: Reseller) -> str:
    return _("The wallet holds %(balance)s; this change would make it negative. Nothing was stored.",
             balance=money(r.wallet_balance))


def _done(change, r: Reseller):
    if change.status == wallet_changes.PENDING:
        flash(_("%(amount)s for %(reseller)s is above the approval threshold of %(threshold)s: it waits for a "
                "second finance user.", amount=money(change.amount), reseller=r.name,
                threshold=money(r.approval_threshold)), "success")
    else:
        flash(_("%(amount)s booked to the wallet of %(reseller)s.", amount=money(change.amount), reseller=r.name),
              "success")
    return redirect(url_for("finance_wallets.detail", reseller_id=r.id))


@bp.post("/finance/wallets/<int:reseller_id>/top-up")
@allow(FINANCE)
def top_up(reseller_id: int):
    r = _reseller_or_404(reseller_id)
    form = TopUpForm()
    if not form.validate_on_submit():
        return _detail(r.id, topup=form, status=422)
    try:
        change = wallet_changes.request_change(web_actor(), current_user.id, r.id, wallet_changes.TOPUP,
                                               form.value, form.memo.data or "", entered(form.bankSerial))
    except wallet_changes.DuplicateSerial:
        form.bankSerial.errors = [_("This bank serial number was already used for a top-up of this reseller. "
                                    "Nothing was stored.")]
        return _detail(r.id, topup=form, status=409)
    except ValidationFailed as exc:
        form.amount.errors = [_("The amount could not be accepted: %(reason)s", reason=exc.message)]
        return _detail(r.id, topup=form, status=422)
    return _done(change, r)


@bp.post("/finance/wallets/<int:reseller_id>/adjust")
@allow(FINANCE)
def adjust(reseller_id: int):
    r = _reseller_or_404(reseller_id)
    form = AdjustForm()
    if not form.validate_on_submit():
        return _detail(r.id, adjust=form, status=422)
    try:
        change = wallet_changes.request_change(web_actor(), current_user.id, r.id, wallet_changes.ADJUST,
                                               form.value, entered(form.reason))
    except InsufficientBalance:
        db.session.refresh(r)
        form.amount.errors = [_negative_message(r)]
        return _detail(r.id, adjust=form, status=409)
    except ValidationFailed as exc:
        form.amount.errors = [_("The amount could not be accepted: %(reason)s", reason=exc.message)]
        return _detail(r.id, adjust=form, status=422)
    return _done(change, r)


def _back_to(reseller_id: int):
    return redirect(url_for("finance_wallets.detail", reseller_id=reseller_id))


def _decide(change_id: int, decide):
    change = ledger_queries.wallet_change(change_id)
    if change is None:
        abort(404)
    try:
        decide(change)
    except wallet_changes.SameUser:
        return _detail(change.reseller_id, status=403, problem=_(
            "You asked for this change: a second finance user must approve or reject it. Nothing was changed."))
    except InsufficientBalance:
        return _detail(change.reseller_id, status=409, problem=_(
            "The wallet no longer holds enough for this decrease; it was not applied. Reject it instead."))
    except StateConflict:
        return _detail(change.reseller_id, status=409, problem=_(
            "This change was already decided by another finance user. Nothing was changed."))
    except NotFound:
        abort(404)
    return None


@bp.post("/finance/wallets/changes/<int:change_id>/approve")
@allow(FINANCE)
def approve(change_id: int):
    refused = _decide(change_id, lambda c: wallet_changes.approve(web_actor(), current_user.id, c.id))
    if refused is not None:
        return refused
    change = ledger_queries.wallet_change(change_id)
    assert change is not None  # _decide found it; changes are never deleted
    flash(_("Approved: %(amount)s booked to the wallet.", amount=money(change.amount)), "success")
    return _back_to(change.reseller_id)


@bp.post("/finance/wallets/changes/<int:change_id>/reject")
@allow(FINANCE)
def reject(change_id: int):
    form = DecisionForm()
    change = ledger_queries.wallet_change(change_id)
    if change is None:
        abort(404)
    if not form.validate_on_submit() or not form.reason.data:
        return _detail(change.reseller_id, status=422, problem=_("Give the reason for rejecting the change. "
                                                                 "Nothing was changed."))
    refused = _decide(change_id, lambda c: wallet_changes.reject(web_actor(), current_user.id, c.id,
                                                                 entered(form.reason)))
    if refused is not None:
        return refused
    flash(_("Rejected: the wallet did not move."), "success")
    return _back_to(change.reseller_id)
