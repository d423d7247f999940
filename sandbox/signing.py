"""The gateway's HMAC-SHA256 signature, both directions (merchant → gateway and gateway → merchant).

Header: ``X-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body bytes>")>``.

The MAC covers the decimal timestamp, one ``.`` and the raw body bytes exactly as sent: re-serialising
the JSON (other spacing, other key order) breaks it, on purpose. A header may carry several ``v1``
entries (the first that matches wins). Dependency-free so that the portal can import the same code.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

HEADER = "X-Gateway-Signature"
TOLERANCE_SECONDS = 300


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def compute(secret: str, body: bytes | str, t: int) -> str:
    """The hex ``v1`` value for ``body`` at timestamp ``t``."""
    message = str(int(t)).encode("ascii") + b"." + _as_bytes(body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes | str, t: int | None = None) -> str:
    """The header value signing ``body`` with ``secret`` at ``t`` (default: now)."""
    t = int(time.time()) if t is None else int(t)
    return f"t={t},v1={compute(secret, body, t)}"


def parse(header: str | None) -> tuple[int, list[str]] | None:
    """``(t, [v1, ...])`` from a header value, or None if it is missing or malformed."""
    if not header or not isinstance(header, str):
        return None
    t: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            if t is not None or not value.isdigit() or len(value) > 12:
                return None
            t = int(value)
        elif key == "v1":
            macs.append(value.strip().lower())
        # other schemes (v0, v2, ...) are ignored, as Stripe does
    if t is None or not macs:
        return None
    return t, macs


def check(secret_or_secrets: str | Iterable[str], header: str | None, body: bytes | str,
          now: float | None = None, tolerance: int = TOLERANCE_SECONDS) -> str | None:
    """None if ``header`` is a fresh signature of ``body`` under one of the secrets, else the reason
    (for logs and error messages; never includes a secret or the expected MAC)."""
    parsed = parse(header)
    if header is None or header == "":
        return "missing signature header"
    if parsed is None:
        return "malformed signature header"
    t, macs = parsed
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        return f"timestamp outside the {tolerance} s tolerance"
    secrets = [secret_or_secrets] if isinstance(secret_or_secrets, str) else list(secret_or_secrets)
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = compute(secret, body, t)
        for mac in macs:
            # every comparison runs; no early exit that would tell which secret matched
            matched |= hmac.compare_digest(expected, mac)
    return None if matched else "signature mismatch"


def verify(secret_or_secrets: str | Iterable[str], header: str | None, body: bytes | str,
           now: float | None = None, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True if ``header`` signs ``body`` under ``secret_or_secrets`` (one secret, or a list while
    rotating) with ``|now - t| <= tolerance``. Constant-time comparison."""
    return check(secret_or_secrets, header, body, now=now, tolerance=tolerance) is None
