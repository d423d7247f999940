"""``/admin/users``: people and their roles. Create a user with a role and a company (the link that
sets their password is in that one answer only), disable or enable, sign out everywhere, and a new
one-time password link. ``/password/set/<token>``: the person sets a new password through the link
(public: the token is the credential; it works once and expires). Audited by
``services/accounts/user_admin.py``."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...domain.enums import RESELLER_ROLES, Role
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...services.accounts import user_admin
from ...services.accounts.users import MIN_PASSWORD_LENGTH
from .access import ADMIN, allow, web_actor
from .form_fields import posted_text

bp = Blueprint("admin_users", __name__)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,128}$")
LOCALES = ("zh", "en")


def role_labels() -> dict[str, str]:
    return {Role.RESELLER_OPERATOR: _("Reseller operator"), Role.RESELLER_APPROVER: _("Reseller approver"),
            Role.FINANCE: _("Finance"), Role.ADMIN: _("Administrator")}


def _page(status: int = 200, **extra):
    context = {"users": user_admin.list_users(), "resellers": user_admin.reseller_codes(), "roles": role_labels(),
               "errors": {}, "form": {}, "shown": None, "done": None, "problem": None, **extra}
    return render_template("admin/users.html", **context), status


def _link(token: str) -> str:
    return url_for("admin_users.set_password", token=token, _external=True)


@bp.get("/admin/users")
@allow(ADMIN)
def index():
    return _page()


@bp.post("/admin/users")
@allow(ADMIN)
def create():
    form = {k: posted_text(k) for k in ("email", "name", "role", "reseller", "locale")}
    errors = {}
    email = form["email"].lower()
    if not _EMAIL.match(email) or len(email) > 254:
        errors["email"] = _("Enter an e-mail address, for example name@example.com.")
    if len(form["name"]) > 200:
        errors["name"] = _("At most %(n)s characters.", n=200)
    if form["role"] not in role_labels():
        errors["role"] = _("Choose a role.")
    known = {code for code, _name in user_admin.reseller_codes()}
    if form["role"] in RESELLER_ROLES and form["reseller"] not in known:
        errors["reseller"] = _("A reseller user belongs to a company: choose one.")
    if form["locale"] not in LOCALES:
        errors["locale"] = _("Choose a language.")
    if not errors:
        try:
            user, token = user_admin.create(web_actor(), email, form["name"], form["role"], form["reseller"] or None,
                                            form["locale"])
        except ValidationFailed as exc:
            field = (exc.errors or [{}])[0].get("field")
            if field == "email":
                errors["email"] = _("A user with this e-mail address exists already.")
            else:
                errors["reseller"] = _("A reseller user belongs to a company: choose one.")
        else:
            return _page(201, shown={"email": user.email, "link": _link(token)},
                         done=_("The user %(email)s is created.", email=user.email))
    return _page(422, errors=errors, form=form)


def _act(action, *args, done: str):
    try:
        action(web_actor(), *args)
    except NotFound:
        abort(404)
    except StateConflict:
        return _page(409, problem=_("You cannot disable your own account, or the user is disabled."))
    flash(done, "success")
    return redirect(url_for("admin_users.index"), 303)


@bp.post("/admin/users/<int:user_id>/disable")
@allow(ADMIN)
def disable(user_id: int):
    return _act(user_admin.set_active, user_id, False, done=_("The user is disabled and signed out everywhere."))


@bp.post("/admin/users/<int:user_id>/enable")
@allow(ADMIN)
def enable(user_id: int):
    return _act(user_admin.set_active, user_id, True, done=_("The user is enabled."))


@bp.post("/admin/users/<int:user_id>/sign-out")
@allow(ADMIN)
def sign_out(user_id: int):
    return _act(user_admin.sign_out_everywhere, user_id, done=_("The user is signed out everywhere."))


@bp.post("/admin/users/<int:user_id>/reset-password")
@allow(ADMIN)
def reset_password(user_id: int):
    try:
        user, token = user_admin.issue_reset_link(web_actor(), user_id)
    except NotFound:
        abort(404)
    except StateConflict:
        return _page(409, problem=_("A disabled user gets no password link; enable the user first."))
    return _page(shown={"email": user.email, "link": _link(token)},
                 done=_("A new password link for %(email)s; earlier links no longer work.", email=user.email))


# --- the person's side: the one-time link ---------------------------------------------------------

@bp.route("/password/set/<token>", methods=["GET", "POST"])
@allow(None)
def set_password(token: str):
    user = user_admin.link_user(token) if _TOKEN.match(token) else None
    if user is None:
        return render_template("auth/password_link.html", invalid=True, errors={}), 404
    if request.method == "GET":
        return render_template("auth/password_link.html", invalid=False, errors={}, email=user.email)
    password, confirm = request.form.get("new_password") or "", request.form.get("confirm") or ""
    errors = {}
    if not MIN_PASSWORD_LENGTH <= len(password) <= 256:
        errors["new_password"] = _("Use at least %(min)s characters.", min=MIN_PASSWORD_LENGTH)
    elif password != confirm:
        errors["confirm"] = _("The two new passwords differ.")
    if errors:
        return render_template("auth/password_link.html", invalid=False, errors=errors, email=user.email), 422
    try:
        user_admin.set_password_by_link(token, password)
    except NotFound:  # used or expired a moment ago
        return render_template("auth/password_link.html", invalid=True, errors={}), 404
    flash(_("Your password is set. Sign in with it."), "success")
    return redirect(url_for("auth.login"), 303)
