"""Rate limits, counted in Redis so that every process shares them (fixed windows).

The ``limits`` library does the counting — one EVALSHA per check — on the storage named by
``RATELIMIT_STORAGE_URI`` (default: ``REDIS_URL``). Two users:

* the API: one budget per API key across the whole API, ``API_RATE_LIMIT`` (API.md §1: 429
  RATE_LIMITED), checked by the API blueprint before every request;
* sign-in: ``LOGIN_RATE_LIMIT`` per address and per email, checked on every POST to /login.

Flask-Limiter was used before; its per-request machinery ran on every request of the app (even
where no limit applied) and cost a create call about as much Python time as its database work,
while the limits themselves are these few lines.

A storage failure lets the request through, logged (``RATELIMIT_SWALLOW_ERRORS``, default on):
Redis trouble must not stop payments or sign-ins, and /readyz reports Redis separately.
"""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

_EXTENSION = "portal_rate_limits"


def init_rate_limits(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions[_EXTENSION] = FixedWindowRateLimiter(storage)


@lru_cache(maxsize=32)
def _item(text: str) -> RateLimitItem:
    return parse(text)


def hit(limit: str, scope: str, key: str) -> bool:
    """Count one request of ``key`` against ``limit`` (e.g. ``10 per minute``) in ``scope``;
    False once the window's budget is spent."""
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return True
    try:
        return current_app.extensions[_EXTENSION].hit(_item(limit), scope, key)
    except Exception:
        if not config["RATELIMIT_SWALLOW_ERRORS"]:
            raise
        current_app.logger.exception("rate limit storage failed; request let through")
        return True
