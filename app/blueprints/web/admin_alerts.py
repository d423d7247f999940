"""``/admin/alerts``: the alerts (services/alerts) with filters by state and kind; admins acknowledge
(a note is optional) and resolve (a note saying what was done is required), both audited. Finance
sees the alerts about money read-only, in a panel of ``/finance`` (``finance_panel``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...services.alerts import handling, kinds, queries
from .access import ADMIN, allow, web_actor

bp = Blueprint("admin_alerts", __name__)
STATES = ("OPEN", "ACKNOWLEDGED", "RESOLVED", "ALL")


def kind_labels() -> dict[str, str]:
    return {
        kinds.LARGE_PAYMENT_FAILED: _("Large payment failed"),
        kinds.CALLBACK_MISSING: _("No callback within the time"),
        kinds.RECONCILIATION_EXCEPTIONS: _("Reconciliation exceptions"),
        kinds.WEBHOOK_ENDPOINT_DEAD: _("Webhook endpoint dead"),
        kinds.PAYOUT_MANUAL: _("Payout needs manual settlement"),
        kinds.DOCUMENT_FAILED: _("Document or statement failed"),
        kinds.LEDGER_BALANCE_MISMATCH: _("Balance differs from its ledger entries"),
        "late_callback": _("Late payment callback"),
        "late_refund_callback": _("Late refund callback"),
        "amount_mismatch": _("Bank reports another amount"),
        "unknown_at_channel": _("Payment unknown at the bank"),
        "statement_missing": _("Channel statement missing"),
        "refunded_repayment_without_record": _("Refunded repayment without a credit record"),
        "refunded_repayment_excess": _("Refunded repayment above what was repaid"),
    }


def state_labels() -> dict[str, str]:
    return {"OPEN": _("Open"), "ACKNOWLEDGED": _("Acknowledged"), "RESOLVED": _("Resolved"), "ALL": _("All")}


def _filters() -> tuple[str | None, str | None, dict[str, str]]:
    """``state`` (one of STATES; absent: the unresolved ones) and ``kind`` (a known kind); a value
    that is neither is refused beside its field."""
    errors = {}
    state = (request.args.get("state") or "").strip().upper() or None
    if state is not None and state not in STATES:
        errors["state"] = _("Choose a state from the list.")
        state = None
    kind = (request.args.get("kind") or "").strip() or None
    if kind is not None and kind not in kinds.KNOWN_KINDS:
        errors["kind"] = _("Choose a kind from the list.")
        kind = None
    return state, kind, errors


def _page(status: int = 200, problem: str | None = None, errors: dict | None = None):
    state, kind, filter_errors = _filters()
    errors = {**filter_errors, **(errors or {})}
    alerts = queries.list_alerts(state, kind)
    return render_template("admin/alerts.html", alerts=alerts, state=state or "", kind=kind or "",
                           states=state_labels(), kinds=kind_labels(), known=kinds.KNOWN_KINDS, errors=errors,
                           problem=problem), (422 if filter_errors and status == 200 else status)


@bp.get("/admin/alerts")
@allow(ADMIN)
def index():
    return _page()


def _act(action, alert_id: int, note: str, done: str):
    try:
        action(web_actor(), alert_id, note)
    except NotFound:
        abort(404)
    except StateConflict:
        return _page(409, problem=_("The alert has moved on meanwhile: it is not in a state for this."))
    except ValidationFailed as exc:
        message = _("Say what was done (at most %(n)s characters).", n=handling.MAX_NOTE) \
            if "what was done" in str(exc) else _("At most %(n)s characters.", n=handling.MAX_NOTE)
        return _page(422, errors={alert_id: message})
    flash(done, "success")
    return redirect(url_for("admin_alerts.index", state=request.args.get("state") or None,
                            kind=request.args.get("kind") or None), 303)


@bp.post("/admin/alerts/<int:alert_id>/acknowledge")
@allow(ADMIN)
def acknowledge(alert_id: int):
    return _act(handling.acknowledge, alert_id, request.form.get("note") or "", _("The alert is acknowledged."))


@bp.post("/admin/alerts/<int:alert_id>/resolve")
@allow(ADMIN)
def resolve(alert_id: int):
    return _act(handling.resolve, alert_id, request.form.get("note") or "", _("The alert is resolved."))


def finance_panel() -> list:
    """The unresolved alerts about money, newest first, for the panel of ``/finance``."""
    return queries.list_alerts(None, kinds=kinds.FINANCE_KINDS, limit=20)

