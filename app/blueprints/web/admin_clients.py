"""/admin/clients: API clients (scopes, key shown once, revoke) and, per client, its webhook
endpoints (create with the secret shown once, enable/disable, rotate the secret, the delivery log
with every attempt, replay one delivery or every failed one in a time range). Admins only; the
services (``accounts.api_clients``, ``webhooks.endpoints``, ``webhooks.delivery``) audit every change.

A key or secret is in the one answer that created it, never in a session, a redirect or a later page."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, request
from flask_babel import gettext as _

from ...domain import event_types as catalogue
from ...domain.errors import DomainError, NotFound, ValidationFailed
from ...domain.timeutil import SHANGHAI, utcnow
from ...services.accounts import api_clients
from ...services.webhooks import address_policy
from ...services.webhooks import delivery as webhook_delivery
from ...services.webhooks import endpoints as webhook_endpoints
from ...services.webhooks import queries as webhook_queries
from .access import ADMIN, allow, web_actor
from .form_fields import posted_text
from .rendering import page_arg, render_screen

bp = Blueprint("admin_clients", __name__)
PAGE_SIZE = 50


def _endpoints_by_client() -> dict[int, list]:
    page = webhook_queries.list_endpoints(None, 1, webhook_queries.MAX_PAGE_SIZE)
    grouped: dict[int, list] = {}
    for ep in page.items:
        grouped.setdefault(ep.client_id, []).append(ep)
    return grouped


def _clients_page(status: int = 200, **extra):
    context = {"clients": api_clients.list_clients(), "endpoints": _endpoints_by_client(),
               "scopes": sorted(api_clients.ALL_SCOPES), "event_types": catalogue.catalogue(),
               "errors": {}, "form": {}, "shown": None, "now": utcnow(), **extra}
    return render_screen("admin/clients.html", "admin/_clients.html", status, **context)


@bp.get("/admin/clients")
@allow(ADMIN)
def index():
    return _clients_page()


@bp.post("/admin/clients")
@allow(ADMIN)
def create_client():
    name = posted_text("name")
    scopes = frozenset(request.form.getlist("scopes")) & api_clients.ALL_SCOPES
    errors = {}
    if not name or len(name) > 100:
        errors["name"] = _("Enter a name of at most 100 characters.")
    if not scopes:
        errors["scopes"] = _("Choose at least one scope.")
    if not errors:
        try:
            client, key = api_clients.create_client(web_actor(), name, scopes)
        except ValidationFailed:
            errors["name"] = _("An API client with this name exists already.")
        else:
            shown = {"kind": "key", "name": client.name, "value": key}
            return _clients_page(201, shown=shown)
    return _clients_page(422, errors={"client": errors}, form={"name": name, "scopes": scopes})


@bp.post("/admin/clients/<int:client_id>/revoke")
@allow(ADMIN)
def revoke_client(client_id: int):
    try:
        api_clients.revoke_client(web_actor(), client_id)
    except NotFound:
        abort(404)
    except DomainError:
        return _clients_page(409, problem=_("This API client is revoked already. Nothing was changed."))
    return _clients_page(done=_("The API client's key is revoked."))


@bp.post("/admin/clients/<int:client_id>/rotate")
@allow(ADMIN)
def rotate_key(client_id: int):
    text = posted_text("overlap_hours")
    overlap = int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else -1
    if not 0 <= overlap <= api_clients.MAX_OVERLAP_HOURS:
        error = _("Enter a whole number of hours from 0 to %(n)s.", n=api_clients.MAX_OVERLAP_HOURS)
        return _clients_page(422, errors={"rotate": {"overlap_hours": error}, "client_id": client_id},
                             form={"client_id": client_id, "overlap_hours": text})
    try:
        client, key = api_clients.rotate_key(web_actor(), client_id, overlap)
    except NotFound:
        abort(404)
    except DomainError:
        problem = _("This API client is revoked: its key cannot be rotated. Nothing was changed.")
        return _clients_page(409, problem=problem)
    return _clients_page(201, shown={"kind": "key", "name": client.name, "value": key, "overlap_hours": overlap})


def url_error(url: str) -> str | None:
    """Why the address policy refuses ``url`` (DNS included), in the reader's language; None if it may."""
    url = (url or "").strip()
    if len(url) > webhook_endpoints.MAX_URL:
        return _("The URL is longer than %(n)s characters.", n=webhook_endpoints.MAX_URL)
    try:
        parsed = address_policy.parse_url(url)
    except address_policy.UnsafeUrl as exc:
        text = str(exc)
        if text.startswith("only http"):
            return _("Only http and https URLs can receive webhooks.")
        if text.startswith("credentials"):
            return _("A user name or password in the URL is not accepted.")
        return _("Enter a full URL, for example https://erp.example.com/webhooks.")
    try:
        address_policy.resolve(parsed, address_policy.configured_allowed_hosts())
    except address_policy.UnsafeUrl as exc:
        host = address_policy.host_of(parsed)
        if "does not resolve" in str(exc):
            return _("%(host)s does not resolve.", host=host)
        return _("%(host)s is a private, local or reserved address; webhooks are only sent to public "
                 "addresses (or to hosts in WEBHOOK_ALLOWED_HOSTS).", host=host)
    return None


@bp.post("/admin/clients/<int:client_id>/endpoints")
@allow(ADMIN)
def create_endpoint(client_id: int):
    client = next((c for c in api_clients.list_clients() if c.id == client_id), None)
    if client is None:
        abort(404)
    if not client.active:
        return _clients_page(409, problem=_("This API client is revoked; its endpoints cannot change."))
    url = posted_text("url")
    known = {name for name, _words in catalogue.catalogue()}
    chosen = set(request.form.getlist("event_types"))
    types = [catalogue.ALL] if catalogue.ALL in chosen else sorted(chosen & known)
    description = posted_text("description")
    errors = {}
    problem = url_error(url)
    if problem:
        errors["url"] = problem
    if not types:
        errors["event_types"] = _("Choose at least one event type, or * for all.")
    if len(description) > webhook_endpoints.MAX_DESCRIPTION:
        errors["description"] = _("At most %(n)s characters.", n=webhook_endpoints.MAX_DESCRIPTION)
    if not errors:
        try:
            info, secret = webhook_endpoints.register_endpoint(web_actor(), client_id, url, types, description)
        except ValidationFailed as exc:  # the address changed between the check and the registration
            field = exc.errors[0]["field"] if exc.errors else "url"
            errors[field] = exc.message
        else:
            shown = {"kind": "secret", "name": info.url, "value": secret, "endpoint_id": info.id}
            return _clients_page(201, shown=shown)
    form = {"client_id": client_id, "url": url, "event_types": set(types), "description": description}
    return _clients_page(422, errors={"endpoint": errors, "client_id": client_id}, form=form)


@bp.post("/admin/endpoints/<int:endpoint_id>/enabled")
@allow(ADMIN)
def set_enabled(endpoint_id: int):
    enabled = request.form.get("enabled") == "true"
    try:
        webhook_endpoints.update_endpoint(web_actor(), endpoint_id, enabled=enabled)
    except NotFound:
        abort(404)
    return _clients_page(done=_("The endpoint is enabled.") if enabled else _("The endpoint is disabled."))


@bp.post("/admin/endpoints/<int:endpoint_id>/rotate-secret")
@allow(ADMIN)
def rotate_secret(endpoint_id: int):
    try:
        secret = webhook_endpoints.rotate_secret(web_actor(), endpoint_id)
    except NotFound:
        abort(404)
    info = webhook_queries.get_endpoint(endpoint_id, None)
    shown = {"kind": "secret", "name": info.url, "value": secret, "endpoint_id": endpoint_id,
             "overlap_hours": int(webhook_endpoints.ROTATION_GRACE.total_seconds() // 3600)}
    return _clients_page(shown=shown)


# --- the delivery log -------------------------------------------------------------------------------

def _log_page(endpoint_id: int, status: int = 200, **extra):
    try:
        endpoint = webhook_queries.get_endpoint(endpoint_id, None)
        page = webhook_queries.list_deliveries(endpoint_id, None, [], page_arg(), PAGE_SIZE)
    except NotFound:
        abort(404)
    attempts = {d["id"]: webhook_delivery.attempt_log(d["id"]) for d in page.items}
    context = {"endpoint": endpoint, "deliveries": page, "attempts": attempts, "errors": {}, "form": {}, **extra}
    return render_screen("admin/deliveries.html", "admin/_deliveries.html", status, **context)


@bp.get("/admin/endpoints/<int:endpoint_id>/deliveries")
@allow(ADMIN)
def deliveries(endpoint_id: int):
    return _log_page(endpoint_id)


@bp.post("/admin/endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/replay")
@allow(ADMIN)
def replay(endpoint_id: int, delivery_id: int):
    try:
        webhook_delivery.replay(web_actor(), delivery_id, endpoint_id=endpoint_id)
    except NotFound:
        abort(404)
    except DomainError:
        return _log_page(endpoint_id, 409, problem=_("This delivery is waiting for its first attempt; "
                                                      "nothing to replay."))
    return _log_page(endpoint_id, done=_("Delivery %(id)s is queued to be sent again.", id=delivery_id))


def _moment(name: str) -> datetime | None:
    """A ``datetime-local`` field, read as Beijing time (the portal's time), in UTC; None if not one."""
    try:
        local = datetime.fromisoformat((request.form.get(name) or "").strip()[:40])
    except ValueError:
        return None
    if not 2000 <= local.year <= 2100:
        return None
    return local.replace(tzinfo=SHANGHAI) if local.tzinfo is None else local


@bp.post("/admin/endpoints/<int:endpoint_id>/replay-failed")
@allow(ADMIN)
def replay_failed(endpoint_id: int):
    since, until = _moment("since"), _moment("until")
    errors = {}
    if since is None:
        errors["since"] = _("Enter a date and time.")
    if until is None:
        errors["until"] = _("Enter a date and time.")
    elif since is not None and until <= since:
        errors["until"] = _("The end must be after the start.")
    elif since is not None and until - since > timedelta(days=366):
        errors["until"] = _("Choose a range of at most a year.")
    if errors or since is None or until is None:
        form = {k: request.form.get(k, "") for k in ("since", "until")}
        return _log_page(endpoint_id, 422, errors=errors, form=form)
    try:
        n = webhook_delivery.replay_failed(web_actor(), endpoint_id, since, until)
    except NotFound:
        abort(404)
    return _log_page(endpoint_id, done=_("%(n)s failed deliveries are queued to be sent again.", n=n))
