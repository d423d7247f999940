"""/finance/reports: a day's money for finance (docs/SCREENS.md): received, refunded and net, by channel
and by payment type, with a chart (app/services/reports/daily.py). The same figures print as the day's
report PDF."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, request
from flask_babel import gettext as _

from ...domain.timeutil import shanghai_today
from ...services.charts.figures import amounts_chart
from ...services.reports.daily import daily_report
from .access import FINANCE, allow
from .rendering import render_screen

bp = Blueprint("finance_reports", __name__)


def day_arg(errors: dict[str, str]) -> date:
    """``day`` (YYYY-MM-DD, a Shanghai day); today when absent; a bad one is reported and today shown."""
    text = (request.args.get("day") or "").strip()[:10]
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
    report = daily_report(day)
    chart = amounts_chart([(r.key, r.received) for r in report.by_channel], title=_("Received by channel"),
                          testid="report-chart")
    return render_screen("finance/reports.html", "finance/_report.html", 422 if errors else 200,
                         report=report, day=day, errors=errors, chart=chart)
