"""``/``: the reseller's dashboard; finance and admin are sent to their desks."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from ...domain.enums import Role
from ...services.dashboards.reseller import DUE_SOON_DAYS, reseller_dashboard
from .access import ANY_USER, FINANCE, allow, reseller_id

bp = Blueprint("home", __name__)


@bp.get("/")
@allow(ANY_USER)
def index():
    if current_user.role in FINANCE:
        return redirect(url_for("finance_vouchers.index"))
    if current_user.role == Role.ADMIN:
        return redirect(url_for("admin.index"))
    return render_template("reseller/dashboard.html", d=reseller_dashboard(reseller_id()), due_days=DUE_SOON_DAYS)
