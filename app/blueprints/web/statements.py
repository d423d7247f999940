"""/statements: the signed-in reseller's monthly statements (对账单, docs/SCREENS.md): pick a month and
see its figures (app/services/statements, the same numbers the PDF prints)."""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _

from ...domain.errors import ValidationFailed
from ...services.statements.chart import aging_chart
from ...services.statements.figures import statement_figures
from ...services.statements.period import Month
from .access import RESELLER, allow, reseller_id
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


def figures_context(rid: int, month: Month) -> dict:
    figures = statement_figures(rid, month)
    return {"figures": figures, "chart": aging_chart(figures.aging, _("Overdue by days past the deadline"))}


@bp.get("/statements")
@allow(RESELLER)
def index():
    errors: dict[str, str] = {}
    month = month_arg(errors)
    return render_screen("reseller/statements.html", "reseller/_statement_figures.html", 422 if errors else 200,
                         month=month, errors=errors, **figures_context(reseller_id(), month))
