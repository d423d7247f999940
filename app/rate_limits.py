"""Rate limits, counted in Redis so that every process shares them (fixed windows).

The ``limits`` library does the counting — one EVALSHA per check — on the storage named by
``RATELIMIT_STORAGE_URI`` (default: ``REDIS_URL``), under the key prefix ``RATELIMIT_KEY_PREFIX``
(default ``<RQ_QUEUE_PREFIX>LIMITS``, app/config.py: one deployment's processes share their counters,
two deployments on one Redis do not; the tests give each session its own). Two users:

* the API: one budget per API key across the whole API, ``API_RATE_LIMIT`` (docs/API.md §1: 429
  RATE_LIMITED), checked by the API blueprint before every request;
* sign-in: ``LOGIN_RATE_LIMIT`` per address and per email, checked on every POST to /login.

Flask-Limiter was used before; its per-request machinery ran on every request of the app (even
where no limit applied) and cost a create call about as much Python time as its database work,
while the limits themselves are these few lines.

Large budgets are counted in leases: a process takes ``amount // 1000`` tokens (at least 1) from
Redis with one INCRBY and spends them locally, for at most ``LEASE_SECONDS``. A limit of 100,000
per minute then costs one Redis round trip per 100 requests instead of one per request (it was
~10 % of a create's cost). The price is a bounded error per process and window: up to a lease more
than the budget (tokens leased at the end of one window, spent at the start of the next), or a
lease fewer (a lease refused near the limit still counts in Redis). Budgets under 2,000 per window
lease one token: they are exact, as a plain fixed window.

A storage failure lets the request through, logged (``RATELIMIT_SWALLOW_ERRORS``, default on):
Redis trouble must not stop payments or sign-ins, and /readyz reports Redis separately.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .metrics import RATE_LIMITED

_EXTENSION = "portal_rate_limits"
LEASE_FRACTION = 1000  # a lease is this fraction of the window's budget
LEASE_SECONDS = 1.0  # and is spent within this time, or dropped


@dataclass
class _Lease:
    left: int
    until: float
    refused: bool = False  # the shared budget had no room for a lease


class LeasedRateLimiter:
    """A fixed-window limiter whose large budgets are taken from the shared counter in leases."""

    def __init__(self, strategy: FixedWindowRateLimiter):
        self.strategy = strategy
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def hit(self, item: RateLimitItem, scope: str, key: str) -> bool:
        size = item.amount // LEASE_FRACTION
        if size <= 1:
            return self.strategy.hit(item, scope, key)
        ident = item.key_for(scope, key)
        now = time.monotonic()
        with self._lock:
            lease = self._leases.get(ident)
            if lease is not None and lease.until > now:
                if lease.left > 0:
                    lease.left -= 1
                    return True
                if lease.refused:  # near the limit: single tokens, as a plain fixed window
                    return self.strategy.hit(item, scope, key)
        granted = self.strategy.hit(item, scope, key, cost=size)
        with self._lock:
            if len(self._leases) > 10_000:
                self._leases.clear()
            self._leases[ident] = _Lease(size - 1 if granted else 0, now + LEASE_SECONDS, refused=not granted)
        return granted or self.strategy.hit(item, scope, key)


def init_rate_limits(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "LIMITS")
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"], key_prefix=app.config["RATELIMIT_KEY_PREFIX"])
    app.extensions[_EXTENSION] = LeasedRateLimiter(FixedWindowRateLimiter(storage))


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
        allowed = current_app.extensions[_EXTENSION].hit(_item(limit), scope, key)
    except Exception:
        if not config["RATELIMIT_SWALLOW_ERRORS"]:
            raise
        current_app.logger.exception("rate limit storage failed; request let through")
        return True
    if not allowed:
        RATE_LIMITED.labels(scope).inc()
    return allowed
