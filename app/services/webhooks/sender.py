"""Outbound webhook HTTP: Standard Webhooks signatures, the send-time address check, and one POST.

Nothing here touches the database or the app context, so ``send`` runs in worker threads while
``webhooks.deliver_due`` holds no transaction (docs/SECURITY.md "Callbacks in, webhooks out").

Before every send ``route`` checks the URL again under ``address_policy`` (DNS may have changed
since registration), and the POST goes to the address that was checked (the URL's host is swapped
for it, ``Host`` and TLS SNI keep the name), so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot redirect it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ...models.types import now_utc
from .address_policy import UnsafeUrl, parse_url, resolve

SECRET_PREFIX = "whsec_"
EXCERPT_CHARS = 500
ERROR_CHARS = 500
USER_AGENT = "ResellerPaymentPortal-Webhooks/1.0"
# --- secrets and signatures (https://www.standardwebhooks.com/) -----------------------------------

def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes, the Standard Webhooks secret format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, key = the secret's decoded bytes."""
    mac = hmac.new(secret_bytes(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


# --- one POST -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One delivery to send: plain values, read from the database before any HTTP."""

    delivery_id: int
    attempt_no: int
    endpoint_id: int
    url: str
    secrets: tuple[str, ...]  # the current secret first; the previous one while a rotation lasts
    msg_id: str  # the outbox event id: the same on every retry and replay
    body: bytes


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    attempt_no: int
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The verifying TLS context of every client, built once per process: httpx builds a new one
    (loading the CA bundle) per client, ~20-40 ms of CPU, which per batch of deliveries was a
    sixth of the delivery's time (bench/webhooks.py). An SSLContext is safe to share between
    threads; it is the one ``httpx.Client(trust_env=False)`` would build."""
    return httpx.create_ssl_context(trust_env=False)


def make_client(timeout: float) -> httpx.Client:
    """A client for one endpoint's sends in one batch. Redirects are never followed, and proxy
    settings from the environment are ignored (a proxy would connect to whatever it resolves)."""
    return httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls_context(),
                        headers={"User-Agent": USER_AGENT})


def _read_excerpt(response: httpx.Response, deadline: float) -> str:
    """At most EXCERPT_CHARS of the body; stops early rather than wait past the deadline."""
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= EXCERPT_CHARS * 4 or time.monotonic() > deadline:
            break
    return data.decode("utf-8", "replace")[:EXCERPT_CHARS]


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS - 1] + "…"


@dataclass(frozen=True)
class Route:
    """Where a URL may be sent, checked just before sending: the parsed URL and its allowed
    addresses, or why it may not be sent at all."""

    url: httpx.URL | None
    addresses: tuple[str, ...] = ()
    refusal: str | None = None


def route(url: str, allowed_hosts: frozenset[str]) -> Route:
    """The send-time check (DNS may have changed since registration); never raises."""
    try:
        parsed = parse_url(url)
        return Route(parsed, tuple(resolve(parsed, allowed_hosts)))
    except UnsafeUrl as exc:
        return Route(None, refusal=str(exc))


def send(target: Target, via: Route, client: httpx.Client, timeout: float) -> Outcome:
    """POST one delivery, signed, to the address ``via`` checked; never raises."""
    started, t0 = now_utc(), time.monotonic()

    def outcome(**kw: Any) -> Outcome:
        return Outcome(target.delivery_id, target.attempt_no, started, int((time.monotonic() - t0) * 1000), **kw)

    if via.refusal or via.url is None:
        return outcome(error=_clip(f"not sent: {via.refusal}"))
    if not target.secrets:
        return outcome(error="not sent: the endpoint's secret cannot be decrypted")
    url = via.url
    stamp = int(time.time())
    headers = {
        "webhook-id": target.msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": " ".join(sign(s, target.msg_id, stamp, target.body) for s in target.secrets),
        "Content-Type": "application/json",
        "Host": url.netloc.decode("ascii"),
    }
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    for i, address in enumerate(via.addresses):
        try:
            with client.stream("POST", url.copy_with(host=address), content=target.body, headers=headers,
                               extensions=extensions) as response:
                excerpt = _read_excerpt(response, t0 + 2 * timeout)
                error = None
                if 300 <= response.status_code < 400:
                    error = _clip(f"redirect not followed (Location: {response.headers.get('location', '-')})")
                elif not 200 <= response.status_code < 300:
                    error = f"HTTP {response.status_code}"
                return outcome(status_code=response.status_code, error=error, excerpt=excerpt)
        except httpx.ConnectError as exc:
            if i + 1 < len(via.addresses):
                continue  # the host's next address, as a browser would
            return outcome(error=_clip(f"connect error: {exc}"))
        except httpx.HTTPError as exc:
            return outcome(error=_clip(f"{type(exc).__name__}: {exc}"))
    return outcome(error="not sent: no address")
