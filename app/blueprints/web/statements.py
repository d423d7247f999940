"""/statements: the signed-in reseller's monthly statements (对账单, docs/SCREENS.md): pick a month and
see its figures (app/services/statements, the same numbers the PDF prints), request its PDF, watch
the list of statements update itself until every one is ready or failed, download it (through
``documents.pdf``: another company's is 404) or retry a failed one (``documents.retry``)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...domain.errors import ValidationFailed
from ...services.statements import document as statement_docs
from ...services.statements.chart import aging_chart
from ...services.statements.figures import statement_figures
from ...services.statements.period import Month
from .access import RESELLER, allow, reseller_id, web_actor
from .rendering import render_screen

bp = Blueprint("statements", __name__)


def month_arg(errors: dict[str, str]) -> Month:
    """``month`` (YYYY-MM); last month when absent; a bad one is reported and last month shown."""
    text = (request.values.get("month") or "").strip()
    if not text:
        return Month.current().previous()
    try:
        return Month.parse(text)
    except ValidationFailed:
        errors["month"] = _("Pick a month like 2026-03.")
        return Month.current().previous()


def _documents(rid: int) -> dict:
    """The variables of documents/_document_table.html: the company's statements, newest first."""
    return {"docs": statement_docs.statement_documents(rid), "refresh_url": url_for("statements.documents"),
            "next_url": url_for("statements.index")}


def _context(rid: int, month: Month, errors: dict[str, str]) -> dict:
    figures = statement_figures(rid, month)
    return {"figures": figures, "chart": aging_chart(figures.aging, _("Overdue by days past the deadline")),
            "month": month, "errors": errors, **_documents(rid)}


@bp.get("/statements")
@allow(RESELLER)
def index():
    errors: dict[str, str] = {}
    month = month_arg(errors)
    return render_screen("reseller/statements.html", "reseller/_statement_figures.html", 422 if errors else 200,
                         **_context(reseller_id(), month, errors))


@bp.post("/statements")
@allow(RESELLER)
def request_statement():
    errors: dict[str, str] = {}
    month = month_arg(errors)
    rid = reseller_id()
    if not errors:
        try:
            statement_docs.request_now(web_actor(), rid, month, current_user.id)
        except ValidationFailed:
            errors["month"] = _("A statement can be asked for this month or a month before.")
    if errors:
        return render_template("reseller/statements.html", **_context(rid, month, errors)), 422
    return redirect(url_for("statements.index", month=str(month)))


@bp.get("/statements/documents")
@allow(RESELLER)
def documents():
    """The list alone (the part that polls itself while a statement is being made)."""
    return render_template("documents/_document_table.html", **_documents(reseller_id()))
