"""``/admin/channels``: the channel list and each channel's edit form (names, enabled, single and
daily limits, which resellers may use it, a maintenance window), and the rotation of an online
channel's callback secret with an overlap (the new secret in that one answer only). Admins only;
``services/channel_config/settings.py`` audits every change with its before and after.

Every field is checked here and its error shown beside it in the reader's language; a form with an
error stores nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.validators import ValidationError

from ...domain.errors import StateConflict, ValidationFailed
from ...domain.timeutil import SHANGHAI
from ...services.channel_config import lookup, settings
from .access import ADMIN, allow, code_or_404, web_actor
from .form_fields import amount_field_check, posted_text

bp = Blueprint("admin_channels", __name__)
MAX_NAME = 100


def local_input(moment: datetime | None) -> str:
    """A UTC moment as a ``datetime-local`` value in Beijing time."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _window_moment(name: str, errors: dict) -> datetime | None:
    text = posted_text(name)[:40]
    if not text:
        return None
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        local = None
    if local is None or not 2000 <= local.year <= 2100:
        errors[name] = _("Enter a date and time, for example 2026-03-12T22:00.")
        return None
    return local.replace(tzinfo=SHANGHAI) if local.tzinfo is None else local


def _amount(name: str, errors: dict, required: bool) -> Decimal | None:
    text = posted_text(name)
    if not text and not required:
        return None
    try:
        return amount_field_check(text)
    except ValidationError as exc:
        errors[name] = str(exc)
        return None


def _reseller_ids(errors: dict) -> frozenset[int]:
    values = request.form.getlist("resellers")
    if any(not (v.isascii() and v.isdigit() and len(v) <= 9) for v in values):
        errors["resellers"] = _("Choose resellers from the list.")
        return frozenset()
    return frozenset(int(v) for v in values)


CROSS_FIELD = {
    "MAX_BELOW_MIN": lambda: _("The largest payment must not be below the smallest."),
    "WINDOW_HALF": lambda: _("Enter both the start and the end of the maintenance window, or neither."),
    "WINDOW_ORDER": lambda: _("The end must be after the start."),
    "RESELLER_UNKNOWN": lambda: _("Choose resellers from the list."),
}


def read_form() -> tuple[settings.ChannelSettings | None, dict, dict]:
    """(settings, errors by field, the form as typed)."""
    errors: dict[str, str] = {}
    name, name_en = posted_text("name"), posted_text("name_en")
    if not name or len(name) > MAX_NAME:
        errors["name"] = _("Enter a name of at most %(n)s characters.", n=MAX_NAME)
    if len(name_en) > MAX_NAME:
        errors["name_en"] = _("At most %(n)s characters.", n=MAX_NAME)
    minimum = _amount("min_amount", errors, required=True)
    maximum = _amount("max_amount", errors, required=False)
    daily = _amount("daily_limit_per_reseller", errors, required=False)
    start, end = _window_moment("maintenance_start", errors), _window_moment("maintenance_end", errors)
    ids = _reseller_ids(errors)
    form: dict = {k: posted_text(k) for k in ("name", "name_en", "min_amount", "max_amount",
                                              "daily_limit_per_reseller", "maintenance_start", "maintenance_end")}
    form["enabled"] = request.form.get("enabled") == "true"
    form["available_to_all"] = request.form.get("available_to_all") == "true"
    form["resellers"] = ids
    if errors or minimum is None:
        return None, errors, form
    s = settings.ChannelSettings(name, name_en, request.form.get("enabled") == "true", minimum, maximum, daily,
                                 request.form.get("available_to_all") == "true", ids, start, end)
    for problem in settings.check(s):
        errors.setdefault(problem["field"], CROSS_FIELD[problem["code"]]())
    return (None if errors else s), errors, form


def form_of(ch) -> dict:
    return {"name": ch.name, "name_en": ch.name_en or "", "enabled": ch.enabled,
            "min_amount": f"{ch.min_amount:.2f}", "max_amount": "" if ch.max_amount is None else f"{ch.max_amount:.2f}",
            "daily_limit_per_reseller": "" if ch.daily_limit_per_reseller is None
            else f"{ch.daily_limit_per_reseller:.2f}",
            "available_to_all": ch.available_to_all, "resellers": {r.id for r in ch.resellers},
            "maintenance_start": local_input(ch.maintenance_start), "maintenance_end": local_input(ch.maintenance_end)}


def _edit_page(ch, status: int = 200, **extra):
    context = {"ch": ch, "form": form_of(ch), "errors": {}, "resellers": settings.reseller_choices(),
               "in_maintenance": lookup.in_maintenance(ch), "previous_until": settings.previous_valid_until(ch),
               "shown": None, "overlap_hours": 24, **extra}
    return render_template("admin/channel_edit.html", **context), status


@bp.get("/admin/channels")
@allow(ADMIN)
def index():
    channels = settings.list_channels()
    return render_template("admin/channels.html", channels=channels,
                           maintenance={ch.code for ch in channels if lookup.in_maintenance(ch)})


@bp.get("/admin/channels/<code>")
@allow(ADMIN)
def edit(code: str):
    return _edit_page(code_or_404(settings.get_channel, code))


@bp.post("/admin/channels/<code>")
@allow(ADMIN)
def save(code: str):
    ch = code_or_404(settings.get_channel, code)
    s, errors, form = read_form()
    if s is not None:
        try:
            changed = settings.update(web_actor(), code, s)
        except ValidationFailed as exc:
            for problem in exc.errors or []:
                field = "resellers" if problem["field"] == "reseller_ids" else problem["field"]
                errors.setdefault(field, CROSS_FIELD[problem["code"]]())
        else:
            flash(_("The channel %(code)s is saved.", code=code) if changed
                  else _("Nothing was changed."), "success")
            return redirect(url_for("admin_channels.index"), 303)
    return _edit_page(ch, 422, form=form, errors=errors)


@bp.post("/admin/channels/<code>/rotate-secret")
@allow(ADMIN)
def rotate_secret(code: str):
    ch = code_or_404(settings.get_channel, code)
    text = posted_text("overlap_hours")
    max_hours = int(settings.MAX_OVERLAP.total_seconds() // 3600)
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and int(text) <= max_hours):
        return _edit_page(ch, 422, errors={"overlap_hours": _("Enter whole hours from 0 to %(n)s.", n=max_hours)},
                          overlap_hours=text[:8])
    hours = int(text)
    try:
        secret = settings.rotate_callback_secret(web_actor(), code, timedelta(hours=hours))
    except StateConflict:
        return _edit_page(ch, 409, problem=_("Only an online channel has a callback secret to rotate."))
    ch = settings.get_channel(code)
    return _edit_page(ch, shown={"value": secret, "hours": hours}, overlap_hours=hours)
