"""The runs of /finance/reconciliation while they work: finance asks for a day's reconciliation now
(``POST /finance/reconciliation/runs``: every channel's job is queued, services/reconciliation/
on_demand.py) and the runs' table asks for itself again (``GET /finance/reconciliation/runs``, the
fragment ``finance/_recon_runs.html``) every 2 s while a run is queued or working, showing its stage
and counts so far (reconciliation/progress.py); it stops once every run is done. A bad or future day
is shown next to the field (422) and nothing is queued."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...domain.enums import ReconClass
from ...domain.errors import ValidationFailed
from ...services.reconciliation import on_demand, progress
from .access import FINANCE, allow, web_actor
from .finance_reconciliation import CLASSES, page_context

bp = Blueprint("finance_reconciliation_runs", __name__)
COLUMNS = [ReconClass.MATCHED.value, *CLASSES]


def runs_context(day: date | None) -> dict:
    return {"runs": progress.live_runs(day), "columns": COLUMNS, "runs_day": day.isoformat() if day else ""}


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 and text.isascii() else None
    except ValueError:
        return None


@bp.get("/finance/reconciliation/runs")
@allow(FINANCE)
def runs():
    return render_template("finance/_recon_runs.html", **runs_context(_day((request.args.get("day") or "").strip())))


@bp.post("/finance/reconciliation/runs")
@allow(FINANCE)
def request_day():
    text = (request.form.get("runDay") or "").strip()[:10]
    day = _day(text)
    if day is None:
        return render_template("finance/reconciliation.html", **page_context(
            run_error=_("Enter the day to reconcile, like 2026-11-30."))), 422
    try:
        queued = on_demand.request_day(web_actor(), day)
    except ValidationFailed:
        return render_template("finance/reconciliation.html", **page_context(
            run_error=_("That day has not come yet."))), 422
    if queued:
        flash(_("Reconciliation of %(day)s queued: %(channels)s.", day=day.isoformat(), channels=", ".join(queued)),
              "success")
    else:
        flash(_("Every channel of %(day)s is already being reconciled.", day=day.isoformat()), "success")
    return redirect(url_for("finance_reconciliation.index", day=day.isoformat()))
