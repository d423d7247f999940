"""A bank statement file between its preview and finance's "import and match" (docs/SCREENS.md
/finance/reconciliation): held in Redis for ``HOLD_SECONDS`` under a random token bound to the user
who uploaded it, never in the database. Nothing is imported before the second step."""

from __future__ import annotations

import secrets

from ..platform.queues import queue_prefix, redis_connection

HOLD_SECONDS = 30 * 60


def _key(user_id: int, token: str) -> str:
    return f"{queue_prefix()}wire-statement:{user_id}:{token}"


def hold(user_id: int, data: bytes) -> str:
    token = secrets.token_urlsafe(24)
    redis_connection().set(_key(user_id, token), data, ex=HOLD_SECONDS)
    return token


def take(user_id: int, token: str) -> bytes | None:
    """The file held under ``token`` for this user (once: it is removed), or None (expired, another
    user's, already imported, or a token that never was)."""
    if not token or len(token) > 64 or not token.replace("-", "").replace("_", "").isalnum():
        return None
    value = redis_connection().getdel(_key(user_id, token))
    return value if isinstance(value, bytes) else None
