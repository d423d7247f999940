"""API clients: keys (stored hashed), scopes, authentication."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa

from ...domain.enums import Scope
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...extensions import db
from ...models import ApiClient
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read, transaction

ALL_SCOPES = frozenset(s.value for s in Scope)
_CACHE_SECONDS = 5.0
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


def create_client(actor: Actor, name: str, scopes: frozenset[str], key: str | None = None) -> tuple[ApiClient, str]:
    """Create a client; returns it with its key, which is shown once and stored only hashed."""
    key = key or f"rpp_{secrets.token_urlsafe(32)}"
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


def revoke_client(actor: Actor, client_id: int) -> None:
    """Revoke a client's key: it is refused from now on (this process's cache is cleared; another
    process's cache answers for at most its few seconds). Its endpoints receive nothing more."""
    with transaction():
        client = db.session.scalar(sa.select(ApiClient).where(ApiClient.id == client_id).with_for_update())
        if client is None:
            raise NotFound(f"no API client {client_id}")
        if not client.active:
            raise StateConflict(f"API client {client.name} is revoked already")
        client.active = False
        audit.record(actor, "api_client.revoke", "api_client", client.name, {"active": True, "key_prefix":
                     client.key_prefix}, {"active": False, "key_prefix": client.key_prefix})
    clear_cache()


def authenticate(key: str) -> ClientInfo | None:
    """The active client that owns ``key``, or None. Cached a few seconds per process."""
    digest = hash_key(key)
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit and hit[0] > now:
        return hit[1]
    row = db.session.execute(
        sa.select(ApiClient.id, ApiClient.name, ApiClient.scopes, ApiClient.active).where(ApiClient.key_hash == digest)
    ).first()
    # End the read transaction at once: on SQLite every transaction holds the write lock.
    end_read()
    info = None
    if row is not None and row.active:
        info = ClientInfo(row.id, row.name, frozenset(s for s in row.scopes.split(",") if s))
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[digest] = (now + _CACHE_SECONDS, info)
    return info


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
