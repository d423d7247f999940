"""HMAC-SHA256 signatures of the bank gateway protocol, both directions:
``X-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Gateway-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, t: int | None = None) -> str:
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secrets: list[str], header: str | None, body: bytes, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True if ``header`` is a fresh signature of ``body`` under any of ``secrets`` (old and new while
    rotating). Compares in constant time."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        return False
    given = parts.get("v1", "")
    now = time.time() if now is None else now
    if abs(int(now) - t) > tolerance:  # in integers: a timestamp of 400 digits is no float (OverflowError)
        return False
    ok = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        ok |= hmac.compare_digest(expected, given)
    return ok
