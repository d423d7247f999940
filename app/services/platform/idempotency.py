"""Idempotency keys (docs/API.md §2, docs/SECURITY.md): scoped to the API client and the operation.

The key row is written in the same transaction as the object it creates, so it never exists
without its object and never stays "in progress" after a crash. On PostgreSQL a concurrent
request with the same key is detected by a transaction-scoped advisory lock and answered 409
REQUEST_IN_PROGRESS; if it slips past (the first committed in between), the unique index
turns it into a replay.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ...domain.errors import IdempotencyKeyReused, RequestInProgress
from ...extensions import db
from ...models import IdempotencyKey
from ...models.types import now_utc
from .unit_of_work import rows_changed


def request_fingerprint(payload: dict) -> str:
    """A stable hash of a validated request (amounts already normalised to Decimal strings)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    response_code: int
    resource_id: str


def lock_id(client_id: int, operation: str, key: str) -> int:
    digest = hashlib.blake2b(f"{client_id}|{operation}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# Built once; the values are bound per call (no statement building or cache-key walk per request).
_keys = IdempotencyKey.__table__
_LOOKUP = sa.select(_keys.c.request_hash, _keys.c.response_code, _keys.c.resource_id).where(
    _keys.c.client_id == sa.bindparam("client_id"), _keys.c.operation == sa.bindparam("operation"),
    _keys.c.key == sa.bindparam("key"),
)
# PostgreSQL: the lock and the lookup in one round trip. The lookup's snapshot is taken when the
# statement starts, a moment before the lock: a request that commits the same key in between is not
# seen here, and the unique index turns this one into a replay (``payment_orders`` retries the
# lookup after an IntegrityError), exactly as when it slips past the lock.
_lookup_sq = _LOOKUP.subquery("k")
_LOCK_AND_LOOKUP = sa.select(
    sa.func.pg_try_advisory_xact_lock(sa.bindparam("lock", type_=sa.BigInteger)).label("got"),
    _lookup_sq.c.request_hash, _lookup_sq.c.response_code, _lookup_sq.c.resource_id,
).select_from(sa.select(sa.literal_column("1").label("one")).subquery("one").outerjoin(_lookup_sq, sa.true()))
_INSERT = sa.insert(_keys)


def claim(client_id: int, operation: str, key: str, fingerprint: str) -> StoredResponse | None:
    """Inside the caller's transaction: take the key's lock and return the stored response of an
    earlier call, or None if the key is new. Raises RequestInProgress or IdempotencyKeyReused."""
    if db.engine.dialect.name != "postgresql":
        return lookup(client_id, operation, key, fingerprint)
    row = db.session.execute(_LOCK_AND_LOOKUP, {
        "lock": lock_id(client_id, operation, key), "client_id": client_id, "operation": operation, "key": key,
    }).one()
    if not row.got:
        raise RequestInProgress("a request with this idempotency key is being processed; retry later")
    return _stored(row if row.request_hash is not None else None, fingerprint)


def lookup(client_id: int, operation: str, key: str, fingerprint: str) -> StoredResponse | None:
    row = db.session.execute(_LOOKUP, {"client_id": client_id, "operation": operation, "key": key}).first()
    return _stored(row, fingerprint)


def _stored(row: sa.Row | None, fingerprint: str) -> StoredResponse | None:
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused("this idempotency key was used with a different request body")
    return StoredResponse(row.response_code, row.resource_id)


def key_row(client_id: int, operation: str, key: str, fingerprint: str, response_code: int,
            resource_id: str) -> dict:
    """The column values of a stored response (for callers that write it in a combined statement)."""
    now = now_utc()
    return {
        "client_id": client_id, "operation": operation, "key": key, "request_hash": fingerprint,
        "response_code": response_code, "resource_id": resource_id, "created_at": now,
        "expires_at": now + timedelta(days=current_app.config["IDEMPOTENCY_TTL_DAYS"]),
    }


def store(client_id: int, operation: str, key: str, fingerprint: str, response_code: int, resource_id: str) -> None:
    db.session.execute(_INSERT, key_row(client_id, operation, key, fingerprint, response_code, resource_id))


def purge_expired() -> int:
    deleted = rows_changed(sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at < now_utc()))
    db.session.commit()
    return deleted
