"""``/admin/audit``: the audit log filtered by time range (Shanghai days), actor, action and target,
an entry's before/after, and the chain verification run on demand by the worker
(services/operations/chain_check.py)."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...domain.timeutil import in_date_range, shanghai_day_bounds
from ...services.audit import log as audit
from ...services.operations import audit_search, chain_check
from ...services.operations.audit_search import AuditFilter
from ...services.platform.unit_of_work import transaction
from .access import ADMIN, allow, web_actor
from .form_fields import date_range_message
from .rendering import page_arg

bp = Blueprint("admin_audit", __name__)
TEXT_FIELDS = ("actor", "action", "targetType", "targetId")
MAX_TEXT = 64


def _day(name: str, errors: dict) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        errors[name] = _("Enter a date like 2026-11-30.")
        return None
    if not in_date_range(value):
        errors[name] = date_range_message()
        return None
    return value


def _filter(errors: dict, args: dict) -> AuditFilter:
    first, last = _day("from", errors), _day("to", errors)
    if first and last and last < first:
        errors["to"], last = _("The end date is before the start date."), None
    for name in TEXT_FIELDS:
        text = (request.args.get(name) or "").strip()
        if len(text) > MAX_TEXT:
            errors[name], text = _("Enter at most %(num)s characters.", num=MAX_TEXT), ""
        args[name] = text
    since: datetime | None = shanghai_day_bounds(first)[0] if first else None
    until: datetime | None = shanghai_day_bounds(last)[1] if last else None
    return AuditFilter(since=since, until=until, actor=args["actor"] or None, action=args["action"] or None,
                       target_type=args["targetType"] or None, target_id=args["targetId"] or None)


@bp.get("/admin/audit")
@allow(ADMIN)
def index():
    errors: dict[str, str] = {}
    args: dict[str, str] = {name: (request.args.get(name) or "").strip()[:10] for name in ("from", "to")}
    f = _filter(errors, args)
    return render_template("admin/audit.html", rows=audit_search.search(f, page_arg()), errors=errors,
                           args=args, chain=chain_check.last_check())


@bp.get("/admin/audit/<int:entry_id>")
@allow(ADMIN)
def entry(entry_id: int):
    e = audit_search.entry(entry_id)
    if e is None:
        abort(404)
    return render_template("admin/audit_entry.html", e=e)


@bp.post("/admin/audit/verify")
@allow(ADMIN)
def verify():
    job = chain_check.enqueue_check()
    with transaction():
        audit.record(web_actor(), "audit.verify_requested", "audit_chain", "chain", after={"job": job.id})
    flash(_("The chain verification is queued; its result appears here when the worker has run it."), "success")
    return redirect(url_for("admin_audit.index"), 303)
