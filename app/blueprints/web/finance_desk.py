"""/finance: the finance dashboard (docs/SCREENS.md): today's and this month's money by channel and by
payment type, the 30-day trend and the split by channel as charts (each also a table), success rate,
callback delay, open vouchers, overdue orders, credit repayment timeliness
(app/services/dashboards/finance.py). Finance and admin; ``?day=`` shows another day and its month."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, request
from flask_babel import gettext as _

from ...domain.timeutil import shanghai_today
from ...services.charts.figures import amounts_chart, trend_chart
from ...services.dashboards.finance import finance_dashboard
from . import admin_alerts
from .access import ADMIN, FINANCE, allow
from .rendering import render_screen

bp = Blueprint("finance_desk", __name__)


def _day(errors: dict[str, str]) -> date:
    """``day`` (YYYY-MM-DD, a Shanghai day, not in the future); today when absent or refused."""
    text = (request.args.get("day") or "").strip()
    today = shanghai_today()
    if not text:
        return today
    try:
        day = date.fromisoformat(text) if len(text) == 10 and text.isascii() else None
    except ValueError:
        day = None
    if day is None:
        errors["day"] = _("Enter a date like 2026-11-30.")
        return today
    if day > today:
        errors["day"] = _("That day has not come yet.")
        return today
    return day


@bp.get("/finance")
@allow(FINANCE | ADMIN)
def index():
    errors: dict[str, str] = {}
    day = _day(errors)
    d = finance_dashboard(day)
    trend = trend_chart([(t.day.strftime("%m-%d"), t.received) for t in d.trend],
                        title=_("Received, last 30 days"), testid="desk-trend-chart")
    split = amounts_chart([(f.key, f.received) for f in d.month_flows.by_channel],
                          title=_("Received this month by channel"), testid="desk-channel-chart")
    return render_screen("finance/desk.html", "finance/_desk.html", 422 if errors else 200,
                         d=d, day=day, errors=errors, trend_chart=trend, channel_chart=split,
                         alerts=admin_alerts.finance_panel(), alert_kinds=admin_alerts.kind_labels())
