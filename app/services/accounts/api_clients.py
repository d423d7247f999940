"""API clients: keys (stored hashed), scopes, authentication, key rotation with an overlap (the
previous key keeps working until its end, docs/SECURITY.md "API keys") and when a client was last used."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ...domain.enums import Scope
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...extensions import db
from ...models import ApiClient
from ...models.types import now_utc
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read, transaction

log = logging.getLogger(__name__)
ALL_SCOPES = frozenset(s.value for s in Scope)
_CACHE_SECONDS = 5.0
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per client
MAX_OVERLAP_HOURS = 168
_cache: dict[str, tuple[float, ClientInfo | None]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class ClientInfo:
    id: int
    name: str
    scopes: frozenset[str]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = scopes - ALL_SCOPES
    if unknown:
        raise ValidationFailed(f"unknown scopes: {', '.join(sorted(unknown))}; known: {', '.join(sorted(ALL_SCOPES))}",
                               field="scopes")
    return scopes


def new_key() -> str:
    return f"rpp_{secrets.token_urlsafe(32)}"


def create_client(actor: Actor, name: str, scopes: frozenset[str], key: str | None = None) -> tuple[ApiClient, str]:
    """Create a client; returns it with its key, which is shown once and stored only hashed."""
    key = key or new_key()
    if len(key) < 24:
        raise ValidationFailed("an API key must be at least 24 characters", field="key")
    with transaction():
        if db.session.scalar(sa.select(ApiClient.id).where(ApiClient.name == name)):
            raise ValidationFailed(f"an API client named {name} exists already", field="name")
        client = ApiClient(name=name, key_prefix=key[:8], key_hash=hash_key(key), scopes=",".join(sorted(scopes)),
                           active=True)
        db.session.add(client)
        db.session.flush()
        audit.record(actor, "api_client.create", "api_client", name, None, {"scopes": sorted(scopes)})
    return client, key


def list_clients() -> list[ApiClient]:
    """Every API client, active first, then by name (detached rows: plain reads for the admin screen)."""
    rows = list(db.session.scalars(sa.select(ApiClient).order_by(ApiClient.active.desc(), ApiClient.name)))
    for row in rows:
        db.session.expunge(row)
    end_read()
    return rows


def _lock_client(client_id: int) -> ApiClient:
    client = db.session.scalar(sa.select(ApiClient).where(ApiClient.id == client_id).with_for_update())
    if client is None:
        raise NotFound(f"no API client {client_id}")
    return client


def revoke_client(actor: Actor, client_id: int) -> None:
    """Revoke a client's key: it is refused from now on (this process's cache is cleared; another
    process's cache answers for at most its few seconds). Its endpoints receive nothing more."""
    with transaction():
        client = _lock_client(client_id)
        if not client.active:
            raise StateConflict(f"API client {client.name} is revoked already")
        client.active = False
        audit.record(actor, "api_client.revoke", "api_client", client.name, {"active": True, "key_prefix":
                     client.key_prefix}, {"active": False, "key_prefix": client.key_prefix})
    clear_cache()


def rotate_key(actor: Actor, client_id: int, overlap_hours: int) -> tuple[ApiClient, str]:
    """Give an active client a new key (returned, shown once). The current key becomes the previous
    one and keeps working for ``overlap_hours`` (0: refused at once); a previous key still in its
    overlap from an earlier rotation stops working now: there are never more than two keys."""
    if not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
        raise ValidationFailed(f"the overlap is 0 to {MAX_OVERLAP_HOURS} hours", field="overlap_hours")
    key = new_key()
    with transaction():
        client = _lock_client(client_id)
        if not client.active:
            raise StateConflict(f"API client {client.name} is revoked: its key cannot be rotated")
        before = {"key_prefix": client.key_prefix, "previous_key_prefix": client.previous_key_prefix}
        if overlap_hours:
            client.previous_key_prefix, client.previous_key_hash = client.key_prefix, client.key_hash
            client.previous_key_expires_at = now_utc() + timedelta(hours=overlap_hours)
        else:
            client.previous_key_prefix = client.previous_key_hash = client.previous_key_expires_at = None
        # The old hash leaves key_hash before the new one arrives (both columns are unique).
        db.session.flush()
        client.key_prefix, client.key_hash = key[:8], hash_key(key)
        audit.record(actor, "api_client.rotate_key", "api_client", client.name, before,
                     {"key_prefix": client.key_prefix, "previous_key_prefix": client.previous_key_prefix,
                      "overlap_hours": overlap_hours})
    clear_cache()
    return client, key


def authenticate(key: str) -> ClientInfo | None:
    """The active client that owns ``key`` (its current key, or its previous one until the overlap
    ends), or None. Cached a few seconds per process, never past the previous key's end."""
    digest = hash_key(key)
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit and hit[0] > now:
        return hit[1]
    row = db.session.execute(
        sa.select(ApiClient.id, ApiClient.name, ApiClient.scopes, ApiClient.active, ApiClient.key_hash,
                  ApiClient.previous_key_expires_at, ApiClient.last_used_at)
        .where(sa.or_(ApiClient.key_hash == digest, ApiClient.previous_key_hash == digest))
    ).first()
    # End the read transaction at once: on SQLite every transaction holds the write lock.
    end_read()
    info = None
    expires = now + _CACHE_SECONDS
    wall = now_utc()
    if row is not None and row.active:
        current = row.key_hash == digest
        if current or (row.previous_key_expires_at is not None and row.previous_key_expires_at > wall):
            info = ClientInfo(row.id, row.name, frozenset(s for s in row.scopes.split(",") if s))
            if not current:
                expires = min(expires, now + (row.previous_key_expires_at - wall).total_seconds())
            if row.last_used_at is None or row.last_used_at < wall - LAST_USED_EVERY:
                _mark_used(row.id, wall)
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[digest] = (expires, info)
    return info


def _mark_used(client_id: int, at: datetime) -> None:
    """One conditional UPDATE: of several processes within the minute, the first one writes. A busy
    database skips it (the next minute writes it) rather than failing the request."""
    try:
        with transaction():
            db.session.execute(sa.update(ApiClient).where(
                ApiClient.id == client_id,
                sa.or_(ApiClient.last_used_at.is_(None), ApiClient.last_used_at < at - LAST_USED_EVERY),
            ).values(last_used_at=at))
    except sa.exc.OperationalError:
        log.warning("last_used_at of API client %s not written (database busy)", client_id)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
