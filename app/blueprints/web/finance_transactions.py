"""/finance/transactions: every payment and refund transaction (docs/SCREENS.md), filtered by channel,
kind, status, reseller, created and completed ranges, amount range, bank serial / channel transaction
id and merged payment, with the totals of the filtered set and pages; ``/finance/transactions/<id>``
shows its chain (app/services/transactions/). A bad filter value is a 422 with the error next to its
field, and the list is shown without that filter. ``POST /finance/transactions/export`` queues a CSV or
XLSX file of exactly the filtered set on the worker (a bad filter refuses it, 422, nothing queued);
``/finance/transactions/exports/<job>`` shows its progress (HTMX polling) and then the download link,
for the user who asked only. Both the request and each download are audited. Finance and admin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from redis.exceptions import RedisError

from ...domain.enums import TransactionStatus, TransactionType
from ...domain.money import MoneyFormatError, parse_money
from ...services.audit import log as audit
from ...services.orders.export import FORMATS, download
from ...services.platform.unit_of_work import transaction
from ...services.transactions import chain as txn_chain
from ...services.transactions import export as txn_export
from ...services.transactions import search as txn_search
from .access import ADMIN, FINANCE, allow, web_actor
from .downloads import attachment
from .form_fields import typed_day
from .rendering import page_arg, render_screen

bp = Blueprint("finance_transactions", __name__)

TEXT_ARGS = ("channel", "kind", "status", "reseller", "reference", "mergedPaymentId")
DATE_ARGS = ("createdFrom", "createdTo", "completedFrom", "completedTo")
AMOUNT_ARGS = ("minAmount", "maxAmount")


def _text(name: str) -> str:
    return (request.args.get(name) or "").strip()


def _date(name: str, errors: dict[str, str]) -> date | None:
    text = _text(name)
    return typed_day(name, text, errors) if text else None


def _amount(name: str, errors: dict[str, str]) -> Decimal | None:
    text = _text(name)
    if not text:
        return None
    try:
        value = parse_money(text)
    except MoneyFormatError:
        errors[name] = _("Enter an amount like 1250.00 (at most two decimals).")
        return None
    if value < 0:
        errors[name] = _("Enter an amount of zero or more.")
        return None
    return value


def _choice(name: str, allowed: list[str], errors: dict[str, str]) -> str | None:
    text = _text(name)
    if text and text not in allowed:
        errors[name] = _("Choose one of the listed values.")
        return None
    return text or None


def _filter(errors: dict[str, str]) -> txn_search.TransactionFilter:
    dates = {name: _date(name, errors) for name in DATE_ARGS}
    for first, last in (("createdFrom", "createdTo"), ("completedFrom", "completedTo")):
        start, end = dates[first], dates[last]
        if start is not None and end is not None and end < start:
            errors[last], dates[last] = _("The end date is before the start date."), None
    low, high = _amount("minAmount", errors), _amount("maxAmount", errors)
    if low is not None and high is not None and high < low:
        errors["maxAmount"], high = _("The largest amount is below the smallest."), None
    for name in ("reseller", "reference", "mergedPaymentId"):
        if len(_text(name)) > 64:
            errors[name] = _("At most 64 characters.")
    return txn_search.TransactionFilter(
        channel=_choice("channel", txn_search.channels(), errors),
        kind=_choice("kind", list(TransactionType), errors),
        status=_choice("status", list(TransactionStatus), errors),
        reseller_code=None if "reseller" in errors else _text("reseller") or None,
        created_from=dates["createdFrom"], created_to=dates["createdTo"],
        completed_from=dates["completedFrom"], completed_to=dates["completedTo"],
        min_amount=low, max_amount=high,
        reference=None if "reference" in errors else _text("reference") or None,
        merged_payment_id=None if "mergedPaymentId" in errors else _text("mergedPaymentId") or None,
    )


def _screen(f: txn_search.TransactionFilter, errors: dict[str, str]):
    totals = txn_search.totals(f)
    page = txn_search.search(f, page_arg(), count=totals.count)
    return render_screen("finance/transactions.html", "finance/_transaction_list.html", 422 if errors else 200,
                         rows=page, totals=totals, cap=txn_search.COUNT_CAP, errors=errors,
                         channels=txn_search.channels(),
                         kinds=list(TransactionType), statuses=list(TransactionStatus),
                         args={k: _text(k)[:64] for k in TEXT_ARGS + DATE_ARGS + AMOUNT_ARGS})


@bp.get("/finance/transactions")
@allow(FINANCE | ADMIN)
def index():
    errors: dict[str, str] = {}
    return _screen(_filter(errors), errors)


@bp.post("/finance/transactions/export")
@allow(FINANCE | ADMIN)
def export():
    """Queue the export of the list as the URL filters it (never written in the request)."""
    fmt = request.form.get("format", "")
    if fmt not in FORMATS:
        abort(400)
    errors: dict[str, str] = {}
    f = _filter(errors)
    if errors:  # the page again, each error next to its field; nothing queued
        flash(_("Fix the filters before exporting."), "error")
        return _screen(f, errors)
    total = txn_search.count_exact(f)
    try:
        job_id = txn_export.enqueue_export(user_id=current_user.id, f=f, fmt=fmt, locale=str(get_locale() or "zh"),
                                           total=total)
    except RedisError:
        flash(_("Large exports are not available right now. Try again in a few minutes, or narrow the filters."),
              "error")
        query = urlencode(list(request.args.items(multi=True)))
        return redirect(url_for("finance_transactions.index") + (f"?{query}" if query else ""), 303)
    with transaction():
        audit.record(web_actor(), "transactions.export", "export", job_id, None,
                     {"format": fmt, "rows": total, "filter": txn_export.filter_to_json(f)})
    return redirect(url_for("finance_transactions.export_progress", job_id=job_id), 303)


@bp.get("/finance/transactions/exports/<job_id>")
@allow(FINANCE | ADMIN)
def export_progress(job_id: str):
    state = txn_export.state_of(job_id, current_user.id)
    if state is None:
        abort(404)
    return render_screen("finance/transactions_export.html", "finance/_transaction_export_progress.html",
                         export=state)


@bp.get("/finance/transactions/exports/<job_id>/download")
@allow(FINANCE | ADMIN)
def export_download(job_id: str):
    state = txn_export.state_of(job_id, current_user.id)
    if state is None or state.state != "done":
        abort(404)
    with transaction():  # every company's money movements leave the portal: who took them is on record
        audit.record(web_actor(), "transactions.export_downloaded", "export", job_id, None,
                     {"format": state.fmt, "rows": state.total})
    try:
        chunks = download(job_id, state.fmt)
    except KeyError:
        abort(404)
    return attachment(chunks, FORMATS[state.fmt], state.download_name)


@bp.get("/finance/transactions/<transaction_id>")
@allow(FINANCE | ADMIN)
def show(transaction_id: str):
    chain = txn_chain.chain_of(transaction_id[:64])
    if chain is None:
        abort(404)
    return render_template("finance/transaction.html", c=chain)
