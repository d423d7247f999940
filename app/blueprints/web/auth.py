"""Sign in and out. The session is rebuilt on sign-in (no fixation; the CSRF token changes too)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from ...rate_limits import hit
from ...services.accounts.sign_in import authenticate
from ...web_sessions import new_session_id, start_signed_in_session
from .access import ANY_USER, allow
from .form_fields import entered

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[
        DataRequired(), Length(max=254), Regexp(r"^[^@\s]+@[^@\s]+$", message=_l("Enter an email address."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def _check_login_limits() -> None:
    """Every sign-in attempt counts, per address and per account (from anywhere)."""
    limit = current_app.config["LOGIN_RATE_LIMIT"]
    email = (request.form.get("email") or "").strip().lower()[:254]
    by_address = hit(limit, "login-address", request.remote_addr or "?")
    by_email = hit(limit, "login-email", email)
    if not (by_address and by_email):
        abort(429)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (``/orders?x=1``), never ``//evil`` or ``https://evil``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.route("/login", methods=["GET", "POST"])
@allow(None)
def login():
    if request.method == "POST":
        _check_login_limits()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(entered(form.email), entered(form.password), ip=request.remote_addr,
                            request_id=g.get("request_id"))
        if user is not None:
            start_signed_in_session(session.get("lang"))
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("home.index"))
        form.password.errors.append(_("Wrong email or password."))  # type: ignore[attr-defined]  # a list; stubs: Sequence
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@allow(ANY_USER)
def logout():
    """Ends this session: its record is deleted from the store, so no copy of the cookie opens it."""
    lang = session.get("lang")
    logout_user()
    new_session_id()  # the old record is deleted
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
