"""Batch payouts (批量付款) on /finance/disbursements (docs/SCREENS.md, DOMAIN.md §9): upload a CSV or
XLSX of payees for the chosen payout merchant; every row is checked before anything is stored and each
problem is shown next to its row (``batch-row-error``, ``data-row`` the 1-based data row); a clean file
becomes a DRAFT batch with its preview (count, total) that the uploader submits; a second finance user
approves (never the uploader) or rejects it with a reason; the running batch's page polls its progress
(HTMX); the failed rows download in the upload format and go again as a new batch; the result file
downloads. The service (``payouts.batches``, ``batch_run``) locks, checks and audits."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...i18n import money
from ...services.audit import log as audit
from ...services.payouts import batch_queries, batches
from ...services.platform.actor import Actor
from ...services.platform.unit_of_work import transaction
from .access import FINANCE, allow, web_actor
from .batch_forms import RejectForm, UploadForm, upload_form
from .batch_messages import file_message, row_message
from .finance_disbursements import index_context
from .rendering import wants_fragment

bp = Blueprint("finance_batches", __name__)


def _index_with(form: UploadForm, status: int, problems=None, file_problem: str | None = None):
    """The disbursements page with the upload form's outcome."""
    context = {**index_context(), "upload": form, "batch_problems": problems or [],
               "batch_file_problem": file_problem}
    return render_template("finance/disbursements.html", **context), status


@bp.post("/finance/disbursements/batches")
@allow(FINANCE)
def upload():
    form = upload_form()
    if not form.validate_on_submit():
        abort(400)  # only a missing or bad CSRF token fails here (the fields are checked below)
    merchant_id = form.merchantId.data or ""
    if merchant_id not in dict(form.merchantId.choices):  # type: ignore[arg-type]
        form.merchantId.errors = [_("Choose an active payout merchant.")]
        return _index_with(form, 422)
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        form.file.errors = [_("Choose the payee file to upload.")]
        return _index_with(form, 422)
    data = storage.read()
    try:
        preview = batches.upload(web_actor(), current_user.id, merchant_id, storage.filename, data)
    except batches.BatchRefused as exc:
        if exc.file_problem is not None:
            message = file_message(exc.file_problem.code, exc.file_problem.params)
            form.file.errors = [message]
            return _index_with(form, 422, file_problem=message)
        problems = [(p.row_no, p.field, row_message(p.code, p.field, p.params)) for p in exc.problems]
        form.file.errors = [_("%(count)s problem(s) in the file: nothing was stored. Correct the rows below "
                              "and upload it again.", count=len(problems))]
        return _index_with(form, 422, problems=problems)
    except ValidationFailed:  # the merchant became inactive meanwhile
        form.merchantId.errors = [_("Choose an active payout merchant.")]
        return _index_with(form, 422)
    flash(_("%(count)s payees, %(total)s in total: check the preview and submit the batch for approval.",
            count=preview.count, total=money(preview.total)), "success")
    return redirect(url_for("finance_batches.detail", batch_no=preview.batch_no))


def _view_or_404(batch_no: str):
    found = batch_queries.view(batch_no)
    if found is None:
        abort(404)
    return found


def _detail(batch_no: str, status: int = 200, problem: str | None = None, reject: RejectForm | None = None):
    v = _view_or_404(batch_no)
    return render_template("finance/batch.html", v=v, b=v.batch, p=v.progress, me=current_user.id,
                           problem=problem, reject=reject or RejectForm(formdata=None)), status


@bp.get("/finance/disbursements/batches/<batch_no>")
@allow(FINANCE)
def detail(batch_no: str):
    if wants_fragment():
        return progress(batch_no)
    return _detail(batch_no)


@bp.get("/finance/disbursements/batches/<batch_no>/progress")
@allow(FINANCE)
def progress(batch_no: str):
    v = _view_or_404(batch_no)
    return render_template("finance/_batch_progress.html", v=v, b=v.batch, p=v.progress)


def _act(batch_no: str, action, done: str, reject: RejectForm | None = None):
    _view_or_404(batch_no)
    try:
        action()
    except batches.SameUser:
        return _detail(batch_no, 403, _("You uploaded this batch: a second finance user must approve or reject "
                                        "it. Nothing was changed."), reject)
    except StateConflict:
        return _detail(batch_no, 409, _("This batch is no longer waiting for this step (another finance user "
                                        "may have decided it). Nothing was changed."), reject)
    except NotFound:
        abort(404)
    flash(done, "success")
    return redirect(url_for("finance_batches.detail", batch_no=batch_no))


def _checked_form() -> RejectForm:
    form = RejectForm()
    if not form.validate_on_submit():
        abort(400)
    return form


def _step(batch_no: str, step: Callable[[Actor, int, str], None], done: str):
    """A step of the batch's maker-checker that takes no input (submit, approve)."""
    _checked_form()
    return _act(batch_no, lambda: step(web_actor(), current_user.id, batch_no), done)


@bp.post("/finance/disbursements/batches/<batch_no>/submit")
@allow(FINANCE)
def submit(batch_no: str):
    return _step(batch_no, batches.submit, _("Submitted: the batch waits for a second finance user's approval."))


@bp.post("/finance/disbursements/batches/<batch_no>/approve")
@allow(FINANCE)
def approve(batch_no: str):
    return _step(batch_no, batches.approve, _("Approved: the batch is being paid out."))


@bp.post("/finance/disbursements/batches/<batch_no>/reject")
@allow(FINANCE)
def reject(batch_no: str):
    form = _checked_form()
    if not form.reason.data:
        _view_or_404(batch_no)
        form.reason.errors = [_("Give the reason for rejecting the batch.")]
        return _detail(batch_no, 422, reject=form)
    return _act(batch_no, lambda: batches.reject(web_actor(), current_user.id, batch_no, form.reason.data or ""),
                _("Rejected: nothing will be paid."), form)


@bp.post("/finance/disbursements/batches/<batch_no>/resubmit")
@allow(FINANCE)
def resubmit(batch_no: str):
    _checked_form()
    _view_or_404(batch_no)
    try:
        preview = batches.resubmit_failed(web_actor(), current_user.id, batch_no)
    except StateConflict:
        return _detail(batch_no, 409, _("Only the failed rows of a completed batch can be submitted again."))
    flash(_("A new batch of the %(count)s failed rows (%(total)s): check it and submit it for approval.",
            count=preview.count, total=money(preview.total)), "success")
    return redirect(url_for("finance_batches.detail", batch_no=preview.batch_no))


def _csv_response(body: bytes, name: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/finance/disbursements/batches/<batch_no>/result.csv")
@allow(FINANCE)
def result_file(batch_no: str):
    v = _view_or_404(batch_no)
    return _csv_response(batch_queries.result_csv(v.batch.id), f"{batch_no}-result.csv")


@bp.get("/finance/disbursements/batches/<batch_no>/failed.csv")
@allow(FINANCE)
def failed_file(batch_no: str):
    v = _view_or_404(batch_no)
    body, count = batch_queries.failed_csv(v.batch.id)
    with transaction():  # the file carries full account numbers: who took it is on record
        audit.record(web_actor(), "disbursement_batch.export_failed", "disbursement_batch", batch_no, None,
                     {"rows": count})
    return _csv_response(body, f"{batch_no}-failed.csv")


@bp.get("/finance/disbursements/batches/template.csv")
@allow(FINANCE)
def template_file():
    return _csv_response(batch_queries.template_csv(), "batch-payout-template.csv")

