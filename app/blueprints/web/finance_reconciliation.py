"""/finance/reconciliation: the reconciliation runs per day and channel (state, counts and amounts per
class, what was settled) and the exceptions with filters (day, state, class), with the actions that
fit each (``finance_recon_exceptions``: requery, accept the channel's figure, link a payment, write
off; maker-checker above the threshold). Statements arrive by the worker (ONLINE, WALLET, CREDIT); a WIRE bank statement
is uploaded here (``finance_wire_statements``) and its unidentified receipts are listed."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField

from ...domain.enums import ReconClass, ReconExceptionState
from ...domain.timeutil import shanghai_today
from ...services.reconciliation import exception_actions, progress, receipt_actions, wire_matching
from ...services.reconciliation import queries as recon_queries
from ...services.reconciliation.day_document import day_documents
from ...services.reconciliation.queries import ExceptionFilter
from .access import FINANCE, allow
from .finance_refunds import text_arg
from .rendering import page_arg, render_screen

bp = Blueprint("finance_reconciliation", __name__)


class StatementUploadForm(FlaskForm):
    file = FileField(_l("Bank statement (CSV, XLSX, MT940 or camt.053)"))


class StatementImportForm(FlaskForm):
    token = HiddenField()
CLASSES = [c.value for c in ReconClass if c != ReconClass.MATCHED]
STATES = [s.value for s in ReconExceptionState]
PAGE_SIZE = 50


def _filters(errors: dict[str, str]) -> ExceptionFilter:
    day: date | None = None
    text = text_arg("day", 10)
    if text:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            errors["day"] = _("Enter a date like 2026-11-30.")
    state = request.args.get("state", ReconExceptionState.OPEN)
    cls = request.args.get("class") or ""
    return ExceptionFilter(day=day, state=state if state in STATES else None,
                           exception_class=cls if cls in CLASSES else None)


def pdf_documents() -> dict:
    """The variables of documents/_document_table.html: the reconciliation days' PDFs, newest first."""
    return {"docs": day_documents(), "refresh_url": url_for("finance_reconciliation_export.documents"),
            "next_url": url_for("finance_reconciliation.index")}


def page_context(forms: dict | None = None, problem: str | None = None, **extra) -> dict:
    errors: dict[str, str] = {}
    f = _filters(errors)
    page = page_arg()
    receipts = wire_matching.open_receipts()
    exceptions = recon_queries.exceptions(f, page, PAGE_SIZE)
    return {"runs": progress.live_runs(f.day), "runs_day": f.day.isoformat() if f.day else "",
            "run_error": extra.pop("run_error", None), **pdf_documents(),
            "exceptions": exceptions, "row_states": exception_actions.screen_states(exceptions.items),
            "classes": CLASSES, "columns": [ReconClass.MATCHED.value, *CLASSES], "states": STATES,
            "errors": errors, "forms": forms or {}, "problem": problem,
            "receipts": receipts, "waiting": receipt_actions.waiting(receipts),
            "reseller_choices": receipt_actions.reseller_choices(),
            "receipt_forms": extra.pop("receipt_forms", None) or {},
            "export_error": extra.pop("export_error", None),
            "export_day": (request.args.get("exportDay") or text_arg("day", 10)
                           or (shanghai_today() - timedelta(days=1)).isoformat())[:10],
            "upload": extra.pop("upload", None) or StatementUploadForm(),
            "preview": None, "import_form": None, **extra,
            "args": {"day": text_arg("day", 10), "state": f.state or "", "class": f.exception_class or ""}}


@bp.get("/finance/reconciliation")
@allow(FINANCE)
def index():
    context = page_context()
    return render_screen("finance/reconciliation.html", "finance/_recon_exceptions.html",
                         422 if context["errors"] else 200, **context)
