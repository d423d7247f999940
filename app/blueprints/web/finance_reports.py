"""/finance/reports (docs/SCREENS.md), two tabs for finance:

- the day (``/finance/reports``, the default): a day's money received, refunded and net, by channel
  and by payment type, with a chart (app/services/reports/daily.py), printed as the day's report PDF;
- a range (``/finance/reports/range``): ``from``..``to`` (Shanghai days, at most ``MAX_DAYS``) grouped
  by payment type, channel, reseller or day (``groupBy``, the API's names), table and chart from
  ``reports.range.range_report`` — the rows of the finance API's ``payment-statistics``, so the
  screen and the API always agree. Exported straight as CSV/XLSX (a range report is small: a row per
  day, type, channel or reseller) and as a PDF through the documents pipeline.

A bad day, range or grouping answers 422 with the error next to its field (nothing shown, exported or
queued). PDFs are rendered by the worker, the documents list below updates itself and downloads
through ``documents.pdf`` (finance only: a report has no owner company)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...domain.errors import ValidationFailed
from ...domain.timeutil import shanghai_today
from ...services.audit import log as audit
from ...services.charts.figures import amounts_chart
from ...services.platform.unit_of_work import transaction
from ...services.reports import document as report_document
from ...services.reports import range as range_reports
from ...services.reports.daily import daily_report
from .access import FINANCE, allow, web_actor
from .downloads import attachment
from .form_fields import typed_day
from .rendering import render_screen

bp = Blueprint("finance_reports", __name__)

EXPORTS = {"csv": ("text/csv; charset=utf-8", range_reports.csv_bytes),
           "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", range_reports.xlsx_bytes)}


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
    return {"report": report, "day": day, "errors": errors, "chart": chart, "tab": "day", **_documents()}


def _documents(next_url: str | None = None) -> dict:
    """The variables of documents/_document_table.html: the reports' PDFs (day and range), newest first."""
    return {"docs": report_document.report_documents(), "refresh_url": url_for("finance_reports.documents"),
            "next_url": next_url or url_for("finance_reports.index")}


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


# --- a range of days -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RangeArgs:
    first: date
    last: date
    group_by: str
    text: dict[str, str]  # the fields as typed, shown back in the form

    def query(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "groupBy": self.group_by}


def range_args(values: Mapping[str, str], errors: dict[str, str]) -> RangeArgs:
    """``from``, ``to`` and ``groupBy``: by default this month up to today by payment type. Each bad
    value is reported under its field name (``errors``); the report is then not computed."""
    today = shanghai_today()
    text = {k: (values.get(k) or "").strip()[:20] for k in ("from", "to", "groupBy")}
    first = typed_day("from", text["from"], errors) if text["from"] else today.replace(day=1)
    last = typed_day("to", text["to"], errors) if text["to"] else today
    group_by = text["groupBy"] or "paymentType"
    if group_by not in range_reports.GROUP_NAMES:
        errors["groupBy"] = _("Choose payment type, channel, reseller or day.")
    if first is not None and last is not None:
        if last < first:
            errors["to"] = _("The end of the range must not be before its start.")
        elif (last - first).days + 1 > range_reports.MAX_DAYS:
            errors["to"] = _("A report covers at most %(days)s days.", days=range_reports.MAX_DAYS)
    return RangeArgs(first or today, last or today, group_by, text)


GROUP_CHOICES = (("paymentType", _l("By payment type")), ("channel", _l("By channel")),
                 ("reseller", _l("By reseller")), ("day", _l("By day")))


def _range_page(args: RangeArgs, errors: dict[str, str], fragment: bool = True):
    report = None if errors else range_reports.range_report(args.first, args.last, args.group_by)
    chart = None if report is None else range_reports.range_chart(report, _("Received"), testid="report-chart")
    context = {"args": args, "errors": errors, "report": report, "chart": chart, "tab": "range",
               "group_choices": [(value, str(words)) for value, words in GROUP_CHOICES],
               "group_title": str(range_reports.GROUP_TITLES.get(args.group_by, "")),
               **_documents(url_for("finance_reports.range_index"))}
    if fragment:
        return render_screen("finance/reports_range.html", "finance/_range_report.html",
                             422 if errors else 200, **context)
    return render_template("finance/reports_range.html", **context), 422 if errors else 200


@bp.get("/finance/reports/range")
@allow(FINANCE)
def range_index():
    errors: dict[str, str] = {}
    return _range_page(range_args(request.args, errors), errors)


@bp.get("/finance/reports/range.<fmt>")
@allow(FINANCE)
def range_export(fmt: str):
    """The range report as CSV or XLSX, written in the request (bounded: see the module's note);
    audited, as every export of every company's money."""
    if fmt not in EXPORTS:
        abort(404)
    errors: dict[str, str] = {}
    args = range_args(request.args, errors)
    if errors:
        return _range_page(args, errors, fragment=False)
    report = range_reports.range_report(args.first, args.last, args.group_by)
    mimetype, write = EXPORTS[fmt]
    body = write(report)
    with transaction():
        audit.record(web_actor(), "reports.export", "report", f"{range_reports.file_stem(report)}.{fmt}", None,
                     {"format": fmt, "rows": len(report.rows), **args.query()})
    return attachment(body, mimetype, f"{range_reports.file_stem(report)}.{fmt}")


@bp.post("/finance/reports/range/pdf")
@allow(FINANCE)
def range_pdf():
    """Ask for the range report as a PDF (rendered by the worker); back to the range's screen."""
    errors: dict[str, str] = {}
    args = range_args(request.form, errors)
    if not errors:
        try:
            report_document.request_range_report(web_actor(), args.first, args.last, args.group_by, current_user.id)
        except ValidationFailed:
            errors["to"] = _("That day has not come yet.")
    if errors:
        return _range_page(args, errors, fragment=False)
    return redirect(url_for("finance_reports.range_index") + "?" + urlencode(args.query()))
