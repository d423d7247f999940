"""Idempotency keys (API.md §2, SECURITY.md): scoped to the API client and the operation.

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

from ..domain.errors import IdempotencyKeyReused, RequestInProgress
from ..extensions import db
from ..models import IdempotencyKey
from ..models.types import now_utc


def request_fingerprint(payload: dict) -> str:
    """A stable hash of a validated request (amounts already normalised to Decimal strings)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    response_code: int
    resource_id: str


def _lock_id(client_id: int, operation: str, key: str) -> int:
    digest = hashlib.blake2b(f"{client_id}|{operation}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def claim(client_id: int, operation: str, key: str, fingerprint: str) -> StoredResponse | None:
    """Inside the caller's transaction: take the key's lock and return the stored response of an
    earlier call, or None if the key is new. Raises RequestInProgress or IdempotencyKeyReused."""
    if db.engine.dialect.name == "postgresql":
        got = db.session.execute(
            sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_id(client_id, operation, key)}
        ).scalar()
        if not got:
            raise RequestInProgress("a request with this idempotency key is being processed; retry later")
    return lookup(client_id, operation, key, fingerprint)


def lookup(client_id: int, operation: str, key: str, fingerprint: str) -> StoredResponse | None:
    row = db.session.execute(
        sa.select(IdempotencyKey.request_hash, IdempotencyKey.response_code, IdempotencyKey.resource_id).where(
            IdempotencyKey.client_id == client_id, IdempotencyKey.operation == operation, IdempotencyKey.key == key
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused("this idempotency key was used with a different request body")
    return StoredResponse(row.response_code, row.resource_id)


def store(client_id: int, operation: str, key: str, fingerprint: str, response_code: int, resource_id: str) -> None:
    now = now_utc()
    db.session.execute(
        sa.insert(IdempotencyKey).values(
            client_id=client_id, operation=operation, key=key, request_hash=fingerprint,
            response_code=response_code, resource_id=resource_id, created_at=now,
            expires_at=now + timedelta(days=current_app.config["IDEMPOTENCY_TTL_DAYS"]),
        )
    )


def purge_expired() -> int:
    result = db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at < now_utc()))
    db.session.commit()
    return result.rowcount or 0
