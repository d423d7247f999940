"""A reconciliation day exported from /finance/reconciliation as CSV or XLSX
(``reconciliation/day_export.py``: the finance API's figures, so the numbers agree). A bad day or
format is shown next to the export's field on the page; nothing is downloaded then."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from ...domain.timeutil import in_date_range
from ...services.reconciliation import day_export
from .access import FINANCE, allow
from .downloads import attachment
from .finance_reconciliation import page_context

bp = Blueprint("finance_reconciliation_export", __name__)


def _refused(message: str) -> tuple[str, int]:
    return render_template("finance/reconciliation.html", **page_context(export_error=message)), 422


@bp.get("/finance/reconciliation/export")
@allow(FINANCE)
def export():
    text = (request.args.get("exportDay") or "").strip()[:10]
    fmt = request.args.get("format", "csv")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return _refused(_("Enter the day to export, like 2026-11-30."))
    if not in_date_range(day):
        return _refused(_("Enter the day to export, like 2026-11-30."))
    if fmt not in day_export.FORMATS:
        return _refused(_("Choose CSV or XLSX."))
    body = day_export.csv_body(day) if fmt == "csv" else day_export.xlsx_body(day)
    return attachment(body, day_export.FORMATS[fmt], day_export.download_name(day, fmt))
