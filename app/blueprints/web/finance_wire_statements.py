"""The WIRE bank statement upload on /finance/reconciliation (docs/SCREENS.md): finance chooses the
bank's file; the preview shows the detected format, encoding and bank profile and the first lines
before anything is stored (the file waits in ``reconciliation/wire_uploads.py``); "import and match"
then matches every credit line (``reconciliation/wire_matching.py``): a reference code in the memo
confirms its wire payment, the rest become unidentified receipts. A refused file names the line
and column and stores nothing."""

from __future__ import annotations

from typing import BinaryIO, cast

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...services.bank_statements.accounts import wire_receiving_accounts
from ...services.bank_statements.lines import ParsedStatement
from ...services.bank_statements.problems import StatementRejected
from ...services.bank_statements.reading import read_statement, read_upload
from ...services.reconciliation import wire_matching, wire_uploads
from .access import FINANCE, allow, web_actor
from .finance_reconciliation import StatementImportForm, StatementUploadForm, page_context

bp = Blueprint("finance_wire_statements", __name__)
PREVIEW_LINES = 10
PAGE = "finance/reconciliation.html"


def _read(data: bytes) -> ParsedStatement:
    accounts = wire_receiving_accounts()
    return read_statement(data, accounts)


@bp.post("/finance/reconciliation/statements/preview")
@allow(FINANCE)
def preview():
    form = StatementUploadForm()
    if not form.validate_on_submit():
        abort(400)  # only a missing or bad CSRF token fails here (the file is checked below)
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        form.file.errors = [_("Choose the bank statement file to upload.")]
        return render_template(PAGE, **page_context(upload=form)), 422
    try:
        data = read_upload(cast(BinaryIO, storage.stream))
        parsed = _read(data)
    except StatementRejected as exc:
        form.file.errors = [exc.describe()]
        return render_template(PAGE, **page_context(upload=form)), 422
    token = wire_uploads.hold(current_user.id, data)
    return render_template(PAGE, **page_context(
        upload=form, preview={"statement": parsed, "lines": parsed.lines[:PREVIEW_LINES], "name": storage.filename},
        import_form=StatementImportForm(token=token)))


@bp.post("/finance/reconciliation/statements/import")
@allow(FINANCE)
def import_statement():
    form = StatementImportForm()
    if not form.validate_on_submit():
        abort(400)
    data = wire_uploads.take(current_user.id, form.token.data or "")
    if data is None:
        return render_template(PAGE, **page_context(problem=_(
            "That preview has expired or was already imported. Upload the file again."))), 422
    try:
        parsed = _read(data)
    except StatementRejected as exc:  # the receiving accounts changed since the preview
        return render_template(PAGE, **page_context(problem=exc.describe())), 422
    report = wire_matching.match_statement(parsed, web_actor())
    flash(_("Statement imported: %(matched)s wire(s) confirmed, %(unidentified)s unidentified receipt(s), "
            "%(skipped)s line(s) seen before.", **report.counts), "success")
    return redirect(url_for("finance_reconciliation.index"))
