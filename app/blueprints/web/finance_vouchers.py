"""/finance/vouchers: the wire-transfer desk (docs/DOMAIN.md §5). Finance previews the voucher a reseller
uploaded, enters the amount that actually arrived and confirms (equal: paid; more: the excess goes to
the reseller's wallet; less: accept it earliest deadline first, or reject the transfer), or rejects the
voucher with a reason the reseller sees. The services (``vouchers``) lock, re-check and audit.

The voucher file is served to finance and to the uploading reseller's users only (another company: 404),
with the content type sniffed from the bytes, ``nosniff``, a safe ``Content-Disposition`` and a CSP
that forbids everything but showing the file."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from ...domain.enums import VoucherStatus
from ...domain.errors import DomainError, Forbidden, NotFound, StateConflict, ValidationFailed
from ...domain.money import money_str
from ...i18n import money
from ...labels import label
from ...security_headers import talisman
from ...services.vouchers import queue as voucher_queue
from ...services.vouchers import review as voucher_review
from ...services.vouchers import upload as voucher_upload
from .access import FINANCE, RESELLER, allow, reseller_id, web_actor
from .form_fields import amount_field_check, entered, strip_text
from .rendering import page_arg, render_screen, wants_fragment

bp = Blueprint("finance_vouchers", __name__)

# The file itself: nothing runs, nothing loads, no forms, no framing; a sandboxed, opaque origin.
FILE_CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'none'; sandbox")
# PDFs shown inline: the same, without ``sandbox`` (Chromium's PDF viewer does not start in a sandboxed
# document) and framable by the desk's own preview. No script source is allowed either way.
PDF_CSP = ("default-src 'none'; object-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; "
           "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
INLINE_IMAGES = ("image/jpeg", "image/png")


class ConfirmForm(FlaskForm):
    receivedAmount = StringField(_l("Amount received"), filters=[strip_text])
    shortfall = StringField(_l("If less than expected arrived"), filters=[strip_text])  # accept | reject (radios)

    def validate_receivedAmount(self, field):  # noqa: N802 (the field is named as in the API)
        self.received = amount_field_check(field.data)


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason the reseller will see"), filters=[strip_text])

    def validate_reason(self, field):
        if not field.data:
            raise ValidationError(_("Give a reason the reseller will see."))
        if len(field.data) > 500:
            raise ValidationError(_("Keep the reason under 500 characters."))


# --- the queue ---------------------------------------------------------------------------------------

def _page_context(forms: dict | None = None, problem: str | None = None) -> dict:
    status = request.args.get("status", VoucherStatus.PENDING)
    status = status if status in voucher_queue.STATUSES else VoucherStatus.PENDING
    reference = (request.args.get("reference") or "").strip()[:32] or None
    page = voucher_queue.list_vouchers(status, reference, page_arg())
    return {"rows": page, "status": status, "reference": reference or "", "forms": forms or {},
            "pending_count": voucher_queue.pending_count(), "problem": problem}


@bp.get("/finance/vouchers")
@allow(FINANCE)
def index():
    return render_screen("finance/vouchers.html", "finance/_voucher_list.html", **_page_context())


def _row_or_404(voucher_id: int):
    row = voucher_queue.get_row(voucher_id)
    if row is None:
        abort(404)
    return row


def _answer_problem(voucher_id: int, cform, rform, status: int, problem: str | None = None):
    """Bad input or a conflict: the card (HTMX) or the whole queue (a plain form post) with the message
    next to the field; nothing was changed."""
    row = _row_or_404(voucher_id)
    if wants_fragment():
        return render_template("finance/_voucher.html", row=row, cform=cform, rform=rform, problem=problem), status
    context = _page_context({voucher_id: (cform, rform)}, problem=problem)
    return render_template("finance/vouchers.html", **context), status


def _answer_done(voucher_id: int, message: str):
    if wants_fragment():
        row = _row_or_404(voucher_id)
        return render_template("finance/_voucher.html", row=row, cform=None, rform=None, done=message)
    flash(message, "success")
    return redirect(url_for("finance_vouchers.index", reference=request.args.get("reference") or None))


def _already_handled(voucher_id: int) -> str:
    row = _row_or_404(voucher_id)
    return _("This voucher was already handled by %(who)s (%(status)s). Nothing was changed.",
             who=row.reviewed_by or _("another finance user"), status=label(row.voucher.status))


def _confirmed_message(row, received: Decimal, shortfall: str | None) -> str:
    expected, ref = row.expected, row.reference
    if received == expected:
        return _("Confirmed %(ref)s: %(amount)s arrived as expected; the orders are paid.",
                 ref=ref, amount=money(received))
    if received > expected:
        return _("Confirmed %(ref)s: %(received)s arrived, %(excess)s more than expected; the excess was "
                 "credited to the wallet of %(reseller)s.", ref=ref, received=money(received),
                 excess=money(received - expected), reseller=row.reseller_name)
    if shortfall == "accept":
        return _("Accepted %(received)s of %(expected)s for %(ref)s: the orders with the earliest deadline were "
                 "paid first; %(short)s was not covered and its reservation was released.", ref=ref,
                 received=money(received), expected=money(expected), short=money(expected - received))
    return _("Rejected %(ref)s: only %(received)s of %(expected)s arrived. The transfer failed, the "
             "reservations were released and the reseller sees why.", ref=ref, received=money(received),
             expected=money(expected))


@bp.post("/finance/vouchers/<int:voucher_id>/confirm")
@allow(FINANCE)
def confirm(voucher_id: int):
    row = _row_or_404(voucher_id)
    cform, rform = ConfirmForm(), RejectForm(formdata=None)
    if row.voucher.status != VoucherStatus.PENDING:
        return _answer_problem(voucher_id, cform, rform, 409, _already_handled(voucher_id))
    if not cform.validate_on_submit():
        return _answer_problem(voucher_id, cform, rform, 422)
    received = cform.received
    shortfall = cform.shortfall.data if received < row.expected else None
    if received < row.expected and shortfall not in ("accept", "reject"):
        cform.shortfall.errors = [_("Only %(received)s of the expected %(expected)s arrived: choose whether to "
                                    "accept it or to reject the transfer.", received=money(received),
                                    expected=money(row.expected))]
        return _answer_problem(voucher_id, cform, rform, 422)
    try:
        voucher_review.confirm(web_actor(), current_user.role, current_user.id, voucher_id, money_str(received),
                               shortfall)
    except StateConflict:
        return _answer_problem(voucher_id, cform, rform, 409, _already_handled(voucher_id))
    except ValidationFailed as exc:
        # The form checked the same rules; the service re-checks under the lock (e.g. a changed amount).
        field = cform.shortfall if "shortfall" in (exc.errors or [{}])[0].get("field", "") else cform.receivedAmount
        field.errors = [_("The amount could not be accepted: %(reason)s", reason=exc.message)]
        return _answer_problem(voucher_id, cform, rform, 422)
    except (NotFound, Forbidden):
        abort(404)
    return _answer_done(voucher_id, _confirmed_message(row, received, shortfall))


@bp.post("/finance/vouchers/<int:voucher_id>/reject")
@allow(FINANCE)
def reject(voucher_id: int):
    row = _row_or_404(voucher_id)
    cform, rform = ConfirmForm(formdata=None), RejectForm()
    if row.voucher.status != VoucherStatus.PENDING:
        return _answer_problem(voucher_id, cform, rform, 409, _already_handled(voucher_id))
    if not rform.validate_on_submit():
        return _answer_problem(voucher_id, cform, rform, 422)
    try:
        voucher_review.reject(web_actor(), current_user.role, current_user.id, voucher_id, entered(rform.reason))
    except StateConflict:
        return _answer_problem(voucher_id, cform, rform, 409, _already_handled(voucher_id))
    except ValidationFailed:
        rform.reason.errors = [_("Give a reason the reseller will see.")]
        return _answer_problem(voucher_id, cform, rform, 422)
    except (NotFound, Forbidden, DomainError):
        abort(404)
    return _answer_done(voucher_id, _("Voucher for %(ref)s rejected. The reseller sees your reason and can upload "
                                      "a new voucher.", ref=row.reference))


# --- the file ----------------------------------------------------------------------------------------

def _viewable(voucher_id: int):
    """The voucher, its bytes and their sniffed type, for finance or the uploading company; else 404."""
    v = voucher_queue.visible_voucher(voucher_id, None if current_user.role in FINANCE else reseller_id())
    if v is None:
        abort(404)
    try:
        data = voucher_upload.content(v)
    except KeyError:
        abort(404)
    return v, data, voucher_upload.sniff(data)


def _disposition(kind: str, v, ext: str) -> str:
    """``inline``/``attachment`` with an ASCII name and the person's name (RFC 6266), the extension
    always the one of the sniffed type, never the uploaded one."""
    stem = os.path.splitext(v.original_name or "")[0]
    stem = re.sub(r"[\x00-\x1f\x7f\"\\/:;*?<>|%]+", "_", stem).strip(" ._")[:100] or f"voucher-{v.id}"
    return f"{kind}; filename=\"voucher-{v.id}.{ext}\"; filename*=UTF-8''{quote(f'{stem}.{ext}', safe='')}"


def _send(v, data: bytes, content_type: str, kind: str) -> Response:
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = _disposition(kind, v, EXTENSIONS.get(content_type, "bin"))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@bp.get("/vouchers/<int:voucher_id>/file")
@allow(FINANCE | RESELLER)
@talisman(content_security_policy=FILE_CSP, frame_options="DENY")
def file(voucher_id: int):
    """Images inline; a PDF (see ``pdf`` for viewing it) or anything else as a download."""
    v, data, sniffed = _viewable(voucher_id)
    content_type = sniffed or "application/octet-stream"
    kind = "inline" if content_type in INLINE_IMAGES else "attachment"
    return _send(v, data, content_type, kind)


@bp.get("/vouchers/<int:voucher_id>/pdf")
@allow(FINANCE | RESELLER)
@talisman(content_security_policy=PDF_CSP, frame_options="SAMEORIGIN")
def pdf(voucher_id: int):
    """A PDF voucher shown inline (in a new tab or the desk's preview frame)."""
    v, data, sniffed = _viewable(voucher_id)
    if sniffed != "application/pdf":
        abort(404)
    return _send(v, data, sniffed, "inline")
