"""/finance/reports: a day's money for finance (docs/SCREENS.md): received, refunded and net, by channel
and by payment type, with a chart (app/services/reports/daily.py). The same figures print as the day's
report PDF: finance asks for it here, the worker renders it, the list below updates itself and
downloads through ``documents.pdf`` (finance only: a report has no owner company)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...domain.errors import ValidationFailed
from ...domain.timeutil import shanghai_today
from ...services.charts.figures import amounts_chart
from ...services.reports import document as report_document
from ...services.reports.daily import daily_report
from .access import FINANCE, allow, web_actor
from .rendering import render_screen

bp = Blueprint("finance_reports", __name__)


def day_arg(errors: dict[str, str], values: Mapping[str, str] | None = None) -> date:
    """``day`` (YYYY-MM-DD, a Shanghai day); today when absent; a bad one is reported and today shown."""
    text = ((values if values is not None else request.args).get("day") or "").strip()[:10]
    if not text:
        return shanghai_today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors["day"] = _("Enter a date like 2026-11-30.")
        return shanghai_today()


@bp.get("/finance/reports")
@allow(FINANCE)
def index():
    errors: dict[str, str] = {}
    day = day_arg(errors)
    return render_screen("finance/reports.html", "finance/_report.html", 422 if errors else 200,
                         **_context(day, errors))


def _context(day: date, errors: dict[str, str]) -> dict:
    report = daily_report(day)
    chart = amounts_chart([(r.key, r.received) for r in report.by_channel], title=_("Received by channel"),
                          testid="report-chart")
    return {"report": report, "day": day, "errors": errors, "chart": chart, **_documents()}


def _documents() -> dict:
    """The variables of documents/_document_table.html: the day reports' PDFs, newest first."""
    return {"docs": report_document.report_documents(), "refresh_url": url_for("finance_reports.documents"),
            "next_url": url_for("finance_reports.index")}


@bp.post("/finance/reports/pdf")
@allow(FINANCE)
def request_pdf():
    """Ask for the day's report as a PDF (rendered by the worker); back to the day's screen."""
    errors: dict[str, str] = {}
    day = day_arg(errors, request.form)
    if not errors:
        try:
            report_document.request_daily_report(web_actor(), day, current_user.id)
        except ValidationFailed:
            errors["day"] = _("That day has not come yet.")
    if errors:
        return render_template("finance/reports.html", **_context(shanghai_today(), errors)), 422
    return redirect(url_for("finance_reports.index", day=day.isoformat()))


@bp.get("/finance/reports/documents")
@allow(FINANCE)
def documents():
    return render_template("documents/_document_table.html", **_documents())
