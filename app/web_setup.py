"""What the screens need from the app: sign-in sessions, security headers (CSP without inline
script or style), ``Vary: HX-Request``, error pages in the user's language, template helpers."""

from __future__ import annotations

import os
from enum import StrEnum
from urllib.parse import urlencode

from flask import Flask, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from redis import Redis

from .blueprints.api.blueprint import http_error as api_http_error
from .blueprints.api.blueprint import protocol_headers
from .domain import enums
from .domain.order_status import is_payable_status
from .extensions import login_manager
from .labels import label, wallet_memo
from .security_headers import CSP, talisman
from .services.accounts.sign_in import load_session_user
from .web_sessions import init_sessions, past_absolute_limit

_ERROR_TEXT = {
    400: _l("The request could not be processed. Reload the page and try again."),
    403: _l("You do not have access to this page."),
    404: _l("This page does not exist, or you do not have access to it."),
    405: _l("This action is not available here."),
    413: _l("The file is too large."),
    429: _l("Too many attempts. Wait a minute and try again."),
}


def _is_web(path: str) -> bool:
    return not path.startswith(("/api/", "/static/", "/metrics", "/healthz", "/readyz", "/sandbox"))


def init_web(app: Flask) -> None:
    init_sessions(app, Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5))

    app.config.setdefault("LOGIN_RATE_LIMIT", os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"))
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_session_user)

    @login_manager.unauthorized_handler
    def _unauthorized():
        if g.get("session_lapsed"):
            flash(_("You were signed out after %(minutes)s minutes without activity. Sign in to continue where "
                    "you were.", minutes=app.config["SESSION_IDLE_MINUTES"]), "info")
        target = url_for("auth.login", next=request.full_path.rstrip("?"))
        if request.headers.get("HX-Request") == "true":  # a fragment request: send the whole page away
            return "", 204, {"HX-Redirect": target}
        return redirect(target)

    talisman.init_app(
        app,
        content_security_policy=CSP,
        force_https=app.config.get("FORCE_HTTPS", False),
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        strict_transport_security=True,  # sent on requests that arrived over TLS only
        frame_options="DENY",
        referrer_policy="same-origin",
    )

    @app.before_request
    def _no_nul_in_screen_paths():
        # PostgreSQL text cannot hold NUL: a screen path with one names nothing that exists.
        if "\x00" in request.path and _is_web(request.path):
            abort(404)

    @app.before_request
    def _no_nul_in_screen_input():
        # Nor any field a screen reads: a query or form value (or name) with NUL is no input a person
        # types, and would reach a filter or a row as text PostgreSQL refuses.
        if not _is_web(request.path):
            return
        fields = request.args.items(multi=True)
        if request.method == "POST":
            fields = (*fields, *request.form.items(multi=True))
        if any("\x00" in name or "\x00" in value for name, value in fields):
            abort(400)

    @app.before_request
    def _end_sessions_past_the_absolute_limit():
        if not _is_web(request.path) or not current_user.is_authenticated:
            return None
        if not past_absolute_limit(app.config["SESSION_MAX_HOURS"]):
            return None
        logout_user()
        session.clear()
        flash(_("Your session ended %(hours)s hours after you signed in. Sign in again to continue.",
                hours=app.config["SESSION_MAX_HOURS"]), "info")
        target = url_for("auth.login", next=request.full_path.rstrip("?"))
        if request.headers.get("HX-Request") == "true":
            return "", 204, {"HX-Redirect": target}
        return redirect(target)

    @app.after_request
    def _vary_on_htmx(response):
        if _is_web(request.path):
            response.vary.add("HX-Request")
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _error_page(err):
        code = getattr(err, "code", 500) or 500
        if request.path.startswith("/api/"):  # the API answers in its own envelope (docs/API.md §1)
            return api_http_error(err)
        if not _is_web(request.path):
            return err
        text = _ERROR_TEXT.get(code, err.description)
        return render_template("errors.html", code=code, text=text), code, protocol_headers(err)

    for code in _ERROR_TEXT:
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _error_page)

    @app.context_processor
    def _template_helpers():
        return {"current_lang": str(get_locale() or "zh"), "url_with": url_with, "status_label": label,
                "wallet_memo": wallet_memo}

    # The status vocabulary in templates: ``{% if mp.status == MergedPaymentStatus.PROCESSING %}``, and the
    # payable rule as a function and as a test (``PaymentStatus | select("payable_status")``).
    app.jinja_env.globals.update(status_enums(), is_payable_status=is_payable_status)
    app.jinja_env.tests["payable_status"] = is_payable_status


def status_enums() -> dict[str, type[StrEnum]]:
    """Every StrEnum of ``domain/enums.py`` by its name."""
    return {name: value for name, value in vars(enums).items()
            if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum}


def url_with(**changes) -> str:
    """This page's URL with some query parameters changed (``None`` removes one); filters and
    pagination stay in the URL so that links, refresh and back keep them."""
    args = request.args.copy()
    for key, value in changes.items():
        args.pop(key, None)
        if value is not None and value != "":
            args[key] = value
    query = urlencode(list(args.items(multi=True)))
    return f"{request.path}?{query}" if query else request.path
