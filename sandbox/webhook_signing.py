"""Standard Webhooks verification (https://www.standardwebhooks.com/), as the portal's webhook
receivers of the upstream systems do it: the receivers of ``receivers.py`` check every delivery
the portal sends them with this. Dependency-free (the standard library only).

``webhook-signature`` holds one or more space-separated ``v1,<base64 HMAC-SHA256>`` entries; the
key is the base64-decoded part of the ``whsec_`` secret; the MAC covers
``"{webhook-id}.{webhook-timestamp}.{raw body}"``; the timestamp must be within 5 minutes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; ValueError if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a Standard Webhooks secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except binascii.Error:
        raise ValueError("the part after whsec_ is not base64") from None
    if not key:
        raise ValueError("the secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def check(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None,
          tolerance: int = TOLERANCE_SECONDS) -> str | None:
    """None if the headers sign ``body`` under ``secret``, else why not (never the expected MAC).
    ``headers`` keys are compared case-insensitively."""
    h = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    if not stamp.isdigit() or len(stamp) > 12:
        return "malformed webhook-timestamp"
    now = time.time() if now is None else now
    if abs(now - int(stamp)) > tolerance:
        return f"timestamp outside the {tolerance} s tolerance"
    expected = sign(secret, msg_id, int(stamp), body).encode()
    matched = False
    for entry in signatures.split(" "):
        if entry.startswith("v1,"):
            matched |= hmac.compare_digest(entry.encode(), expected)
    return None if matched else "no signature matches the secret"
