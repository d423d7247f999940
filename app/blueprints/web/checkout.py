"""/checkout: one row per selected payment order (amount, channel), live validation as the user types,
then the merged payment through ``checkout.submit`` with a one-time form token.

The engine's ``checkout.validate`` is the only judge of a row: the form takes every field as text, so
a tampered id, amount or channel reaches the same rules and is answered next to its row."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, HiddenField, StringField

from ...domain.enums import ChannelKind, MergedPaymentStatus, PaymentType
from ...domain.errors import NotFound, StateConflict
from ...domain.money import MoneyFormatError, parse_money
from ...i18n import money
from ...labels import label
from ...models import PaymentOrder
from ...services.checkout import queries as payment_queries
from ...services.checkout import submission as checkout
from ...services.checkout import validation as checkout_validation
from ...services.checkout.queries import ChannelHint
from ...services.checkout.validation import AllocationIn, CheckoutRejected, RowProblem
from ...services.ledgers.credit_line import CreditUnavailable
from ...services.ledgers.wallet import InsufficientBalance
from .access import RESELLER, allow, reseller_id, web_actor
from .rendering import wants_fragment

bp = Blueprint("checkout", __name__)

MAX_ROWS = 100
ZERO = Decimal("0.00")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SPLIT = re.compile(r"[\s,，]+")

# The engine's row problems in the user's words; ``params`` of the problem fill the placeholders.
PROBLEM_TEXT = {
    "NO_ROWS": _l("Select at least one payment order."),
    "ORDER_NOT_FOUND": _l("This payment order does not exist."),
    "ORDER_DUPLICATE": _l("This payment order is listed twice; keep one row for it."),
    "ORDER_NOT_PAYABLE": _l("This order is %(status)s and cannot be paid."),
    "AMOUNT_FORMAT": _l("Enter an amount with at most two decimals, for example 1250000.00."),
    "AMOUNT_NOT_POSITIVE": _l("The amount must be greater than 0."),
    "AMOUNT_ABOVE_PAYABLE": _l("The amount is more than the payable %(payable)s."),
    "CHANNEL_UNKNOWN": _l("Choose a payment channel."),
    "CHANNEL_DISABLED": _l("%(channel)s is switched off at the moment; choose another channel."),
    "CHANNEL_IN_MAINTENANCE": _l("%(channel)s is in maintenance at the moment; choose another channel."),
    "CHANNEL_NOT_AVAILABLE": _l("%(channel)s is not available to your company."),
    "CREDIT_NOT_FOR_REPAYMENT": _l("A credit repayment cannot be paid with credit."),
    "CHANNEL_BELOW_MIN": _l("%(channel)s takes at least %(minimum)s per payment (all rows on it together)."),
    "CHANNEL_ABOVE_MAX": _l("%(channel)s takes at most %(maximum)s per payment (all rows on it together)."),
    "CHANNEL_DAILY_LIMIT": _l("%(channel)s allows %(limit)s per day for your company (all rows on it together)."),
    "WALLET_INSUFFICIENT": _l("The wallet balance is %(balance)s (all rows on it together)."),
    "CREDIT_INSUFFICIENT": _l("The available credit is %(available)s (all rows on it together)."),
}


class AllocationForm(Form):
    payment_id = HiddenField()
    amount = StringField()
    channel = StringField()


class CheckoutForm(FlaskForm):
    token = HiddenField()
    rows = FieldList(FormField(AllocationForm), max_entries=MAX_ROWS)


@dataclass
class RowView:
    """One row as the screen shows it: what was typed, the order (only if it is the reseller's own)
    and the problems of this row."""

    payment_id: str
    amount: str
    channel: str
    order: PaymentOrder | None = None
    errors: list[str] = field(default_factory=list)
    hint: ChannelHint | None = None


@dataclass
class CheckoutState:
    rows: list[RowView]
    hints: list[ChannelHint]
    funds: payment_queries.Funds
    token: str
    total: Decimal = ZERO
    general_errors: list[str] = field(default_factory=list)

    @property
    def problem_rows(self) -> int:
        return sum(1 for r in self.rows if r.errors)

    @property
    def needs_approval(self) -> bool:
        return self.total > self.funds.approval_threshold


def _language() -> str:
    return str(get_locale() or "zh")


def problem_text(p: RowProblem, channel_name: str) -> str:
    text = PROBLEM_TEXT.get(p.code)
    if text is None:  # a rule added to the engine later: its own words rather than nothing
        return p.message
    params = {"channel": channel_name}
    for key, value in p.params.items():
        params[key] = label(value) if key == "status" else money(value) if isinstance(value, Decimal) else value
    return str(text) % params


def _ids_from_query() -> list[str]:
    ids: list[str] = []
    for raw in request.args.getlist("ids"):
        for part in _SPLIT.split(raw):
            if part and part not in ids and len(part) <= 64:
                ids.append(part)
    return ids[:MAX_ROWS]


def _default_channel(hints: list[ChannelHint], order: PaymentOrder | None) -> str:
    """One channel for all rows by default (docs/DOMAIN.md §4): the first in display order that fits."""
    for h in hints:
        if not (h.kind == ChannelKind.CREDIT and order is not None
                and order.payment_type == PaymentType.CREDIT_REPAYMENT):
            return h.code
    return ""


def _check(rid: int, rows: list[RowView], token: str) -> CheckoutState:
    """Run the engine's validation over the rows and put each problem next to its row."""
    hints = payment_queries.channel_hints(rid)
    by_code = {h.code: h for h in hints}
    orders = payment_queries.orders_by_payment_id(rid, [r.payment_id for r in rows])
    state = CheckoutState(rows, hints, payment_queries.funds(rid), token)
    for r in rows:
        r.order, r.hint, r.errors = orders.get(r.payment_id), by_code.get(r.channel), []
        try:
            amount = parse_money(r.amount)
        except MoneyFormatError:
            continue
        if amount > 0:
            state.total += amount
    try:
        checkout_validation.validate(rid, [AllocationIn(r.payment_id, r.amount, r.channel) for r in rows])
    except CheckoutRejected as exc:
        for p in exc.problems:
            if p.code == "NO_ROWS" or not 0 <= p.index < len(rows):
                state.general_errors.append(problem_text(p, ""))
                continue
            row = rows[p.index]
            if p.field == "amount" and row.order is not None and row.order.payable_amount <= 0:
                row.errors.append(_("Nothing is payable on this order now: the rest is in a payment that is "
                                    "still in progress."))
                continue
            hint = by_code.get(row.channel)
            row.errors.append(problem_text(p, hint.display_name(_language()) if hint else row.channel))
    return state


def _rows_from_form(form: CheckoutForm) -> list[RowView]:
    rows = []
    for entry in form.rows.entries:
        f = entry.form
        rows.append(RowView(payment_id=(f.payment_id.data or "").strip()[:64], amount=(f.amount.data or "")[:32],
                            channel=(f.channel.data or "").strip()[:32]))
    return rows


def _render(state: CheckoutState, status: int = 200):
    return render_template("reseller/checkout.html", state=state, lang=_language()), status


def _new_token() -> str:
    return secrets.token_urlsafe(24)


@bp.get("/checkout")
@allow(RESELLER)
def index():
    rid = reseller_id()
    ids = _ids_from_query()
    hints = payment_queries.channel_hints(rid)
    orders = payment_queries.orders_by_payment_id(rid, ids)
    rows = []
    for pid in ids:
        order = orders.get(pid)
        amount = f"{order.payable_amount:.2f}" if order is not None and order.payable_amount > 0 else ""
        rows.append(RowView(pid, amount, _default_channel(hints, order)))
    state = _check(rid, rows, _new_token()) if rows else CheckoutState([], hints, payment_queries.funds(rid),
                                                                      _new_token())
    return _render(state)


@bp.post("/checkout/validate")
@allow(RESELLER)
def validate():
    """Live validation (HTMX, debounced): the summary, and each row's errors swapped in out of band
    so that the inputs being typed into are never replaced."""
    form = CheckoutForm()
    state = _check(reseller_id(), _rows_from_form(form), form.token.data or _new_token())
    status = 422 if state.general_errors or state.problem_rows else 200
    if wants_fragment():
        return render_template("reseller/_alloc_live.html", state=state, lang=_language()), status
    return _render(state, status)


@bp.post("/checkout")
@allow(RESELLER)
def submit():
    rid = reseller_id()
    form = CheckoutForm()
    rows = _rows_from_form(form)
    token = form.token.data or ""
    if not _TOKEN.match(token):
        state = _check(rid, rows, _new_token())
        state.general_errors.insert(0, _("This form has expired. Check the amounts and submit again."))
        return _render(state, 422)
    try:
        result = checkout.submit(web_actor(), current_user.id, rid,
                                 [AllocationIn(r.payment_id, r.amount, r.channel) for r in rows], submit_token=token)
    except CheckoutRejected:
        return _render(_check(rid, rows, token), 422)
    except NotFound:  # the token of another company's checkout: nothing of it is shown
        abort(404)
    except (InsufficientBalance, CreditUnavailable, StateConflict) as exc:
        state = _check(rid, rows, token)
        state.general_errors.insert(0, _("The wallet balance is no longer enough for this payment.")
                                    if isinstance(exc, InsufficientBalance) else
                                    _("The available credit is no longer enough for this payment.")
                                    if isinstance(exc, CreditUnavailable) else
                                    _("The payment could not be made. Check the rows and try again."))
        return _render(state, 409)
    if result.duplicate:
        flash(_("This checkout was already submitted; here is its payment."), "info")
    elif result.status == MergedPaymentStatus.PENDING_APPROVAL:
        flash(_("The payment is above your company's approval threshold and waits for an approver."), "info")
    else:
        flash(_("The payment was created. Complete the next step of each channel below."), "success")
    return redirect(url_for("payments.detail", merged_payment_id=result.merged_payment_id), 303)
