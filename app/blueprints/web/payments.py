"""/payments: the reseller's merged payments. The detail page follows a payment until it settles (its
status part polls itself while PROCESSING), shows each channel's next step (bank page, wire
instructions and voucher upload, done), asks the bank again (compensation query) and cancels."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from redis.exceptions import RedisError
from wtforms import DateField, HiddenField, SelectField
from wtforms.validators import Optional

from ...domain.enums import ChannelKind, ChannelPaymentStatus
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...labels import LABELS
from ...services.checkout import cancellation
from ...services.checkout import queries as payment_queries
from ...services.documents import queries as document_queries
from ...services.documents import receipts
from ...services.platform.unit_of_work import end_read
from ...services.settlement import compensation
from ...services.vouchers import upload as voucher_upload
from .access import RESELLER, allow, reseller_id, web_actor
from .form_fields import date_in_range
from .rendering import page_arg, render_screen, wants_fragment

bp = Blueprint("payments", __name__)

PAGE_SIZE = 20

# What the engine says when a cancel is refused, in the user's words (matched on the start of its message).
CANCEL_REFUSED = (
    ("the bank cannot be reached", _l("The bank cannot be reached to confirm that nothing was paid. Try again later.")),
    ("the bank has already received", _l("The bank has already received this payment; it cannot be cancelled.")),
    ("the bank is still processing", _l("The bank is still processing this payment; it cannot be cancelled now.")),
    ("part of this payment has been paid", _l("Part of this payment has been paid; it can no longer be cancelled.")),
    ("a wire voucher is waiting", _l("A wire voucher is waiting for finance; the payment can no longer be cancelled.")),
)
VOUCHER_REFUSED = (
    ("the file is empty", _l("The file is empty.")),
    ("the file is larger", _l("The file is larger than %(mb)s MB.")),
    ("the voucher must be", _l("The voucher must be a PDF, JPG or PNG file; this file is none of them, "
                               "whatever its name says.")),
    ("the PDF is password-protected", _l("The PDF is password-protected; upload a copy without a password.")),
    ("the PDF cannot be read", _l("The PDF cannot be read (damaged, incomplete, or not really a PDF); "
                                  "upload the file the bank gave you.")),
    ("a voucher for this transfer is already waiting", _l("A voucher for this transfer is already waiting for "
                                                          "finance.")),
    ("this wire transfer is", _l("This wire transfer is closed; no voucher is needed any more.")),
)


def _words(table, message: str, fallback: str, **params) -> str:
    for prefix, text in table:
        if message.startswith(prefix):
            return str(text) % params if params else str(text)
    return fallback


def _language() -> str:
    return str(get_locale() or "zh")


class PaymentFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=True)
    created_from = DateField(_l("Created from"), validators=[Optional(), date_in_range], format="%Y-%m-%d")
    created_to = DateField(_l("Created to"), validators=[Optional(), date_in_range], format="%Y-%m-%d")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = [("", _("All statuses"))] + [(s, str(LABELS[s])) for s in
                                                             payment_queries.MERGED_STATUSES]


class VoucherForm(FlaskForm):
    channel_payment_id = HiddenField()
    voucher = FileField(_l("Voucher file"))


@bp.get("/payments")
@allow(RESELLER)
def index():
    form = PaymentFilterForm(formdata=request.args)
    valid = form.validate()
    status = form.status.data if not form.status.errors and form.status.data else None
    created_from = form.created_from.data if not form.created_from.errors else None
    created_to = form.created_to.data if not form.created_to.errors else None
    page = payment_queries.list_merged(reseller_id(), [status] if status else None, created_from, created_to,
                                       page=page_arg(), page_size=PAGE_SIZE)
    return render_screen("reseller/payments.html", "reseller/_payment_list.html", 200 if valid else 422,
                         form=form, page=page, lang=_language())


def _view_or_404(merged_payment_id: str) -> payment_queries.MergedView:
    view = payment_queries.merged_payment(reseller_id(), merged_payment_id)
    if view is None:
        abort(404)
    return view


def _render_detail(merged_payment_id: str, status: int = 200, *, voucher_errors: dict | None = None,
                   notice: str | None = None):
    view = _view_or_404(merged_payment_id)
    return render_screen("reseller/payment.html", "reseller/_payment_status.html", status, view=view,
                         lang=_language(), voucher_errors=voucher_errors or {}, notice=notice, user_id=current_user.id,
                         receipt=_receipt(view))


def _receipt(view: payment_queries.MergedView) -> document_queries.DocumentView | None:
    return document_queries.latest(receipts.RECEIPT, view.mp.merged_payment_id, view.mp.reseller_id)


@bp.get("/payments/<merged_payment_id>")
@allow(RESELLER)
def detail(merged_payment_id: str):
    """The page; with HX-Request only its status part (what the polling asks for)."""
    return _render_detail(merged_payment_id)


@bp.get("/payments/<merged_payment_id>/receipt")
@allow(RESELLER)
def receipt_part(merged_payment_id: str):
    """The receipt part of the page (what it polls while the receipt is being made)."""
    view = _view_or_404(merged_payment_id)
    if not wants_fragment():
        return redirect(url_for("payments.detail", merged_payment_id=merged_payment_id), 303)
    return render_screen("reseller/_payment_receipt.html", "reseller/_payment_receipt.html", view=view,
                         receipt=_receipt(view))


@bp.post("/payments/<merged_payment_id>/receipt")
@allow(RESELLER)
def request_receipt(merged_payment_id: str):
    """Ask for the receipt of a payment that has succeeded (one made before receipts existed, say);
    the same payment always gets the same receipt."""
    _view_or_404(merged_payment_id)
    end_read()
    try:
        receipts.ask_for_receipt(web_actor(), reseller_id(), merged_payment_id, current_user.id)
    except NotFound:
        abort(404)
    except StateConflict:
        abort(409)
    if wants_fragment():
        view = _view_or_404(merged_payment_id)
        return render_screen("reseller/_payment_receipt.html", "reseller/_payment_receipt.html", view=view,
                             receipt=_receipt(view))
    return redirect(url_for("payments.detail", merged_payment_id=merged_payment_id), 303)


@bp.post("/payments/<merged_payment_id>/refresh")
@allow(RESELLER)
def refresh(merged_payment_id: str):
    """Ask the bank about every ONLINE part still processing (the compensation query, in the worker)."""
    view = _view_or_404(merged_payment_id)
    asked = [p.cp.id for p in view.parts
             if p.cp.channel_kind == ChannelKind.ONLINE and p.cp.status == ChannelPaymentStatus.PROCESSING]
    end_read()
    for cp_pk in asked:
        try:
            compensation.enqueue_refresh(cp_pk)
        except RedisError:  # no queue: ask now rather than not at all
            current_app.logger.warning("refresh of channel payment %s ran in the request: no queue", cp_pk)
            compensation.refresh(cp_pk, web_actor())
    notice = _("We asked the bank for the status. This page updates by itself.") if asked else \
        _("The status is up to date.")
    if wants_fragment():
        return _render_detail(merged_payment_id, notice=notice)
    flash(notice, "info")
    return redirect(url_for("payments.detail", merged_payment_id=merged_payment_id), 303)


@bp.post("/payments/<merged_payment_id>/cancel")
@allow(RESELLER)
def cancel(merged_payment_id: str):
    _view_or_404(merged_payment_id)
    end_read()
    try:
        cancellation.cancel(web_actor(), reseller_id(), merged_payment_id)
    except NotFound:
        abort(404)
    except StateConflict as exc:
        flash(_words(CANCEL_REFUSED, exc.message, _("This payment can no longer be cancelled.")), "error")
        return _render_detail(merged_payment_id, 409)
    flash(_("The payment was cancelled; its orders can be paid again."), "success")
    return redirect(url_for("payments.detail", merged_payment_id=merged_payment_id), 303)


@bp.post("/payments/<merged_payment_id>/vouchers")
@allow(RESELLER)
def upload_voucher(merged_payment_id: str):
    view = _view_or_404(merged_payment_id)
    form = VoucherForm()
    cp_number = (form.channel_payment_id.data or "").strip()
    part = next((p for p in view.parts
                 if p.cp.channel_payment_id == cp_number and p.cp.channel_kind == ChannelKind.WIRE), None)
    if part is None:  # a tampered or another payment's transfer number
        abort(404)
    end_read()
    storage = form.voucher.data
    if storage is None or not getattr(storage, "filename", ""):
        return _render_detail(merged_payment_id, 422, voucher_errors={cp_number: _("Choose the voucher file.")})
    limit = current_app.config["VOUCHER_MAX_BYTES"]
    data = storage.read(limit + 1)
    try:
        voucher_upload.upload(web_actor(), current_user.id, reseller_id(), cp_number, storage.filename, data)
    except NotFound:
        abort(404)
    except (ValidationFailed, StateConflict) as exc:
        text = _words(VOUCHER_REFUSED, exc.message, _("This file cannot be used as a voucher."),
                      mb=limit // (1024 * 1024))
        return _render_detail(merged_payment_id, 422 if isinstance(exc, ValidationFailed) else 409,
                              voucher_errors={cp_number: text})
    flash(_("The voucher was uploaded. Finance will check it against the bank account."), "success")
    return redirect(url_for("payments.detail", merged_payment_id=merged_payment_id), 303)


@bp.get("/payments/<merged_payment_id>/vouchers/<int:voucher_id>")
@allow(RESELLER)
def voucher_file(merged_payment_id: str, voucher_id: int):
    """The file the reseller uploaded, as a download (never rendered inline)."""
    view = _view_or_404(merged_payment_id)
    v = next((v for p in view.parts for v in p.vouchers if v.id == voucher_id), None)
    if v is None:
        abort(404)
    try:
        data = voucher_upload.content(v)
    except KeyError:
        abort(404)
    return send_file(io.BytesIO(data), mimetype=v.content_type, as_attachment=True,
                     download_name=v.original_name, max_age=0)
