"""Webhook endpoints of API clients (docs/DOMAIN.md §7): registration with the address policy of
``webhooks/sender.py``, updates, secret rotation with a grace period, and event-type filters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ...domain.errors import NotFound, ValidationFailed
from ...extensions import db
from ...models import ApiClient, WebhookEndpoint
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import crypto
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read, transaction
from . import sender as webhook_sender

ROTATION_GRACE = timedelta(hours=24)
E = WebhookEndpoint.__table__
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$")


@dataclass(frozen=True)
class EndpointInfo:
    """An endpoint as the caller may keep it after the transaction (never the secret)."""

    id: int
    client_id: int
    url: str
    event_types: str
    enabled: bool
    allow_private_network: bool


def _info(ep: WebhookEndpoint) -> EndpointInfo:
    return EndpointInfo(ep.id, ep.client_id, ep.url, ep.event_types, ep.enabled, ep.allow_private_network)


# --- event type filters ---------------------------------------------------------------------------

def normalize_event_types(value: str | Iterable[str]) -> str:
    """``"*"``, or a comma list of exact types and prefixes (``payment_order.*``); raises ValidationFailed."""
    items = value.split(",") if isinstance(value, str) else list(value)
    types = list(dict.fromkeys(t.strip() for t in items if t and t.strip()))
    if not types:
        raise ValidationFailed("choose at least one event type, or * for all", field="event_types")
    if "*" in types:
        return "*"
    bad = [t for t in types if not _EVENT_TYPE.match(t)]
    if bad:
        raise ValidationFailed(f"not an event type: {', '.join(bad)} (e.g. payment_order.status_changed, "
                               "payment_order.*, *)", field="event_types")
    return ",".join(types)


def matches(event_types: str, event_type: str) -> bool:
    for pattern in event_types.split(","):
        pattern = pattern.strip()
        if pattern == "*" or pattern == event_type or (pattern.endswith(".*") and event_type.startswith(pattern[:-1])):
            return True
    return False


# --- endpoints ------------------------------------------------------------------------------------

def _checked_url(url: str, allow_private_network: bool) -> str:
    url = (url or "").strip()
    if len(url) > 500:
        raise ValidationFailed("the URL is longer than 500 characters", field="url")
    try:
        webhook_sender.check_url(url, allow_private_network)
    except webhook_sender.UnsafeUrl as exc:
        raise ValidationFailed(f"this URL cannot receive webhooks: {exc}", field="url") from None
    return url


def _lock_endpoint(endpoint_id: int) -> WebhookEndpoint:
    ep = db.session.scalar(sa.select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).with_for_update())
    if ep is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return ep


def register_endpoint(actor: Actor, client_id: int, url: str, event_types: str | Iterable[str] = "*",
                      allow_private_network: bool = False) -> tuple[EndpointInfo, str]:
    """Add an endpoint for an API client; returns it with its secret (``whsec_…``), shown once and
    stored encrypted. Refuses URLs that resolve to non-public addresses unless allowed."""
    url = _checked_url(url, allow_private_network)  # DNS before the transaction, not under it
    types = normalize_event_types(event_types)
    secret = webhook_sender.new_secret()
    with transaction():
        if db.session.get(ApiClient, client_id) is None:
            raise NotFound(f"no API client {client_id}")
        ep = WebhookEndpoint(client_id=client_id, url=url, secret_enc=crypto.encrypt(secret), event_types=types,
                             enabled=True, allow_private_network=allow_private_network)
        db.session.add(ep)
        db.session.flush()
        audit.record(actor, "webhook_endpoint.create", "webhook_endpoint", str(ep.id), None,
                     {"client_id": client_id, "url": url, "event_types": types,
                      "allow_private_network": allow_private_network})
        info = _info(ep)
    return info, secret


def update_endpoint(actor: Actor, endpoint_id: int, *, url: str | None = None,
                    event_types: str | Iterable[str] | None = None, enabled: bool | None = None,
                    allow_private_network: bool | None = None) -> EndpointInfo:
    """Change what is given (a new URL or network allowance is checked as at registration).
    Re-enabling an endpoint resumes its paused deliveries."""
    current = db.session.execute(sa.select(E.c.url, E.c.allow_private_network).where(E.c.id == endpoint_id)).first()
    end_read()  # DNS below runs with no transaction open
    if current is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    allow = current.allow_private_network if allow_private_network is None else allow_private_network
    new_url = current.url
    if url is not None or allow_private_network is not None:
        new_url = _checked_url(current.url if url is None else url, allow)
    types = normalize_event_types(event_types) if event_types is not None else None
    with transaction():
        ep = _lock_endpoint(endpoint_id)
        before = {"url": ep.url, "event_types": ep.event_types, "enabled": ep.enabled,
                  "allow_private_network": ep.allow_private_network}
        ep.url, ep.allow_private_network = new_url, allow
        if types is not None:
            ep.event_types = types
        if enabled is not None:
            ep.enabled = enabled
        after = {"url": ep.url, "event_types": ep.event_types, "enabled": ep.enabled,
                 "allow_private_network": ep.allow_private_network}
        audit.record(actor, "webhook_endpoint.update", "webhook_endpoint", str(endpoint_id), before, after)
        info = _info(ep)
    return info


def rotate_secret(actor: Actor, endpoint_id: int, grace: timedelta = ROTATION_GRACE,
                  now: datetime | None = None) -> str:
    """A new secret (returned, shown once). For ``grace`` the old one still signs too: each request
    then carries two ``v1,`` signatures, and a receiver holding either secret accepts it."""
    now = now or now_utc()
    secret = webhook_sender.new_secret()
    with transaction():
        ep = _lock_endpoint(endpoint_id)
        keep_old = grace > timedelta(0)
        old_valid_until = now + grace if keep_old else None
        ep.previous_secret_enc = ep.secret_enc if keep_old else None
        ep.previous_secret_expires_at = old_valid_until
        ep.secret_enc = crypto.encrypt(secret)
        audit.record(actor, "webhook_endpoint.rotate_secret", "webhook_endpoint", str(endpoint_id), None,
                     {"old_secret_valid_until": old_valid_until.isoformat() if old_valid_until else None})
    return secret


# --- fan-out --------------------------------------------------------------------------------------
