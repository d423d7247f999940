"""``/admin/resellers``: each reseller's settings: approval threshold, credit limit and term, and the
refund bank account (shown masked, stored encrypted; left empty, the stored account stays). Saved
through ``services/accounts/resellers.upsert_reseller``, which audits before/after (the account
masked) and tells the upstream systems (``reseller.upserted``), as the API does (docs/API.md §6)."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ...domain.errors import StateConflict
from ...domain.money import CENT, MAX_AMOUNT, at_most_two_decimals
from ...models import Reseller
from ...services.accounts import resellers as reseller_service
from .access import ADMIN, allow, code_or_404, web_actor
from .form_fields import posted_text

bp = Blueprint("admin_resellers", __name__)
_AMOUNT = re.compile(r"^\d+(\.\d+)?$")
_ACCOUNT = re.compile(r"^[0-9]{6,32}$")
_BANK = re.compile(r"^[A-Z]{2,10}$")
MAX_TERM_DAYS = 3650


def _amount(name: str, errors: dict) -> Decimal | None:
    """An amount of at least 0 in yuan with at most two decimals (``1,000,000.00`` and ``¥`` allowed)."""
    text = posted_text(name).replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").replace(" ", "")
    if not text:
        errors[name] = _("Enter the amount.")
        return None
    if not _AMOUNT.match(text) or len(text) > 20:
        errors[name] = _("Enter an amount in yuan, for example 1250000.00.")
        return None
    amount = Decimal(text)
    if not at_most_two_decimals(amount):
        errors[name] = _("Use at most two decimals (fen).")
        return None
    if amount > MAX_AMOUNT:
        errors[name] = _("This amount is too large.")
        return None
    return amount.quantize(CENT)


def read_form() -> tuple[reseller_service.ResellerChanges | None, dict, dict]:
    errors: dict[str, str] = {}
    form = {k: posted_text(k) for k in ("approval_threshold", "credit_limit", "credit_term_days", "account_no",
                                        "account_name", "bank_code")}
    threshold = _amount("approval_threshold", errors)
    limit = _amount("credit_limit", errors)
    term = form["credit_term_days"]
    if not (term.isascii() and term.isdigit() and len(term) <= 5 and int(term) <= MAX_TERM_DAYS):
        errors["credit_term_days"] = _("Enter whole days from 0 to %(n)s.", n=MAX_TERM_DAYS)
    account = None
    no, name, bank = form["account_no"].replace(" ", ""), form["account_name"], form["bank_code"].upper()
    if no or name or bank:
        if not _ACCOUNT.match(no):
            errors["account_no"] = _("Enter the account number: 6 to 32 digits.")
        if not name or len(name) > 200:
            errors["account_name"] = _("Enter the account holder's name (at most 200 characters).")
        if not _BANK.match(bank):
            errors["bank_code"] = _("Enter the bank code: 2 to 10 letters, for example ICBC.")
        account = reseller_service.BankAccount(no, name, bank)
    if errors or threshold is None or limit is None:
        return None, errors, form
    changes = reseller_service.ResellerChanges(credit_limit=limit, credit_term_days=int(term),
                                               approval_threshold=threshold, refund_bank_account=account)
    return changes, errors, form


def form_of(r: Reseller) -> dict:
    return {"approval_threshold": f"{r.approval_threshold:.2f}", "credit_limit": f"{r.credit_limit:.2f}",
            "credit_term_days": str(r.credit_term_days), "account_no": "", "account_name": "", "bank_code": ""}


def _edit_page(r: Reseller, status: int = 200, **extra):
    context = {"r": r, "view": reseller_service.reseller_dict(r), "form": form_of(r), "errors": {}, **extra}
    return render_template("admin/reseller_edit.html", **context), status


@bp.get("/admin/resellers")
@allow(ADMIN)
def index():
    rows = [reseller_service.reseller_dict(r) for r in reseller_service.list_resellers()]
    return render_template("admin/resellers.html", resellers=rows)


@bp.get("/admin/resellers/<code>")
@allow(ADMIN)
def edit(code: str):
    return _edit_page(code_or_404(reseller_service.get_reseller, code))


@bp.post("/admin/resellers/<code>")
@allow(ADMIN)
def save(code: str):
    r = code_or_404(reseller_service.get_reseller, code)
    changes, errors, form = read_form()
    if changes is not None:
        try:
            reseller_service.upsert_reseller(web_actor(), code, changes)
        except StateConflict:
            used = f"{r.credit_used:,.2f}"
            errors["credit_limit"] = _("The credit limit cannot be below the credit in use (%(used)s).", used=used)
        else:
            flash(_("The settings of %(code)s are saved.", code=code), "success")
            return redirect(url_for("admin_resellers.index"), 303)
    form["account_no"] = ""  # an account number is never sent back in a page
    return _edit_page(r, 422, form=form, errors=errors)
