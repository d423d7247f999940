"""Webhook endpoints of API clients (docs/DOMAIN.md §7, docs/API.md §10): registration under the
address policy of ``address_policy.py``, updates, deletion, secret rotation with a grace period,
and event-type filters checked against the catalogue (``domain/event_types.py``).

Every function that acts for an API client takes its ``client_id`` as ``owner``: an endpoint of
another client is answered as absent (NotFound), exactly like one that does not exist. ``owner``
None is the admin's view (every client's endpoints)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ...domain import event_types as catalogue
from ...domain.errors import NotFound, ValidationFailed
from ...extensions import db
from ...models import ApiClient, WebhookEndpoint
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import crypto
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from . import address_policy
from . import sender as webhook_sender

ROTATION_GRACE = timedelta(hours=24)
MAX_URL = 500
MAX_DESCRIPTION = 500
E = WebhookEndpoint.__table__
_PREFIX = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.\*$")


@dataclass(frozen=True)
class EndpointInfo:
    """An endpoint as the caller may keep it after the transaction (never the secret)."""

    id: int
    client_id: int
    url: str
    event_types: str
    enabled: bool
    description: str
    created_at: datetime

    @property
    def event_type_list(self) -> list[str]:
        return self.event_types.split(",")


def _info(ep: WebhookEndpoint) -> EndpointInfo:
    return EndpointInfo(ep.id, ep.client_id, ep.url, ep.event_types, ep.enabled, ep.description, ep.created_at)


# --- event type filters ---------------------------------------------------------------------------

def normalize_event_types(value: str | Iterable[str], field: str = "event_types") -> str:
    """``"*"``, or a comma list of catalogue types and prefixes that match some (``payment_order.*``),
    as given, duplicates dropped; raises ValidationFailed naming what is unknown."""
    items = value.split(",") if isinstance(value, str) else list(value)
    types = list(dict.fromkeys(t.strip() for t in items if t and t.strip()))
    if not types:
        raise ValidationFailed("choose at least one event type, or * for all", field=field)
    if catalogue.ALL in types:
        if len(types) > 1:
            raise ValidationFailed("* (every type) cannot be combined with other types", field=field)
        return catalogue.ALL
    known = [t.value for t in catalogue.EventType]
    bad = [t for t in types if not catalogue.is_known(t)
           and not (_PREFIX.match(t) and any(k.startswith(t[:-1]) for k in known))]
    if bad:
        raise ValidationFailed(f"unknown event type: {', '.join(bad)} (the catalogue: GET "
                               "/api/v1/integration/event-types; or * for all)", field=field)
    return ",".join(types)


def matches(event_types: str, event_type: str) -> bool:
    for pattern in event_types.split(","):
        pattern = pattern.strip()
        if pattern == "*" or pattern == event_type or (pattern.endswith(".*") and event_type.startswith(pattern[:-1])):
            return True
    return False


# --- endpoints ------------------------------------------------------------------------------------

def checked_url(url: str) -> str:
    """The URL, stripped, if the address policy admits it now (DNS included: call it with no
    transaction open); raises ValidationFailed on ``url`` with the reason."""
    url = (url or "").strip()
    if len(url) > MAX_URL:
        raise ValidationFailed(f"the URL is longer than {MAX_URL} characters", field="url")
    try:
        address_policy.check_url(url, address_policy.configured_allowed_hosts())
    except address_policy.UnsafeUrl as exc:
        raise ValidationFailed(f"this URL cannot receive webhooks: {exc}", field="url") from None
    return url


def _description(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise ValidationFailed(f"at most {MAX_DESCRIPTION} characters", field="description")
    return text


def _lock_endpoint(endpoint_id: int, owner: int | None = None) -> WebhookEndpoint:
    stmt = sa.select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.deleted_at.is_(None))
    if owner is not None:
        stmt = stmt.where(WebhookEndpoint.client_id == owner)
    ep = db.session.scalar(stmt.with_for_update())
    if ep is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return ep


def _given_secret(secret: str | None) -> str:
    """A new secret, or the given one if it is a Standard Webhooks secret (the demo seed shares
    its receivers' secrets with the sandbox, as it does the channels')."""
    if secret is None:
        return webhook_sender.new_secret()
    try:
        key = webhook_sender.secret_bytes(secret) if secret.startswith(webhook_sender.SECRET_PREFIX) else b""
    except ValueError:
        key = b""
    if len(key) < 24:
        raise ValidationFailed("a webhook secret is whsec_ and the base64 of at least 24 bytes", field="secret")
    return secret


def register_endpoint(actor: Actor, client_id: int, url: str, event_types: str | Iterable[str] = "*",
                      description: str | None = None, secret: str | None = None) -> tuple[EndpointInfo, str]:
    """Add an enabled endpoint for an API client; returns it with its secret (``whsec_…``, new
    unless given), shown once and stored encrypted. Refuses URLs the address policy does not admit."""
    url = checked_url(url)  # DNS before the transaction, not under it
    types = normalize_event_types(event_types)
    text = _description(description)
    secret = _given_secret(secret)
    with transaction():
        if db.session.get(ApiClient, client_id) is None:
            raise NotFound(f"no API client {client_id}")
        ep = WebhookEndpoint(client_id=client_id, url=url, secret_enc=crypto.encrypt(secret), event_types=types,
                             enabled=True, description=text, created_at=now_utc())
        db.session.add(ep)
        db.session.flush()
        audit.record(actor, "webhook_endpoint.create", "webhook_endpoint", str(ep.id), None,
                     {"client_id": client_id, "url": url, "event_types": types, "description": text})
        info = _info(ep)
    return info, secret


def update_endpoint(actor: Actor, endpoint_id: int, *, url: str | None = None,
                    event_types: str | Iterable[str] | None = None, enabled: bool | None = None,
                    description: str | None = None, owner: int | None = None) -> EndpointInfo:
    """Change what is given (a new URL is checked as at registration). Re-enabling an endpoint
    resumes its paused deliveries."""
    new_url = checked_url(url) if url is not None else None  # DNS with no transaction open
    types = normalize_event_types(event_types) if event_types is not None else None
    text = _description(description) if description is not None else None
    with transaction():
        ep = _lock_endpoint(endpoint_id, owner)
        before = {"url": ep.url, "event_types": ep.event_types, "enabled": ep.enabled, "description": ep.description}
        if new_url is not None:
            ep.url = new_url
        if types is not None:
            ep.event_types = types
        if enabled is not None:
            ep.enabled = enabled
        if text is not None:
            ep.description = text
        after = {"url": ep.url, "event_types": ep.event_types, "enabled": ep.enabled, "description": ep.description}
        audit.record(actor, "webhook_endpoint.update", "webhook_endpoint", str(endpoint_id), before, after)
        info = _info(ep)
    return info


def delete_endpoint(actor: Actor, endpoint_id: int, owner: int | None = None) -> None:
    """Delete an endpoint: nothing is sent to it any more (deliveries not yet sent stay PENDING,
    never claimed); its row and delivery log stay for the audit, hidden from every list."""
    with transaction():
        ep = _lock_endpoint(endpoint_id, owner)
        ep.enabled = False
        ep.deleted_at = now_utc()
        audit.record(actor, "webhook_endpoint.delete", "webhook_endpoint", str(endpoint_id),
                     {"url": ep.url, "event_types": ep.event_types}, None)


def rotate_secret(actor: Actor, endpoint_id: int, grace: timedelta = ROTATION_GRACE,
                  now: datetime | None = None, owner: int | None = None, secret: str | None = None) -> str:
    """A new secret (returned, shown once; new unless given). For ``grace`` the old one still signs
    too: each request then carries two ``v1,`` signatures, and a receiver holding either accepts it."""
    now = now or now_utc()
    secret = _given_secret(secret)
    with transaction():
        ep = _lock_endpoint(endpoint_id, owner)
        keep_old = grace > timedelta(0)
        old_valid_until = now + grace if keep_old else None
        ep.previous_secret_enc = ep.secret_enc if keep_old else None
        ep.previous_secret_expires_at = old_valid_until
        ep.secret_enc = crypto.encrypt(secret)
        audit.record(actor, "webhook_endpoint.rotate_secret", "webhook_endpoint", str(endpoint_id), None,
                     {"old_secret_valid_until": old_valid_until.isoformat() if old_valid_until else None})
    return secret
