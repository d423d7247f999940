"""Outbound webhook HTTP: Standard Webhooks signatures, the send-time address check, one POST, and a
batch of POSTs on the send threads and keep-alive connections of a run (``Sends``).

Nothing here touches the database or the app context, so ``send`` runs in worker threads while
``webhooks.deliver_due`` holds no transaction (docs/SECURITY.md "Callbacks in, webhooks out").

Before every send ``route`` checks the URL again under ``address_policy`` (DNS may have changed
since registration), and the POST goes to the address that was checked (the URL's host is swapped
for it, ``Host`` and TLS SNI keep the name), so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot redirect it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ...models.types import now_utc
from . import connections
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


class _ConnectFailed(Exception):
    """The connection to one address could not be made (refused, unreachable, TLS): the next
    address of the host may be tried."""


class _Timeout(Exception):
    """A socket operation timed out; ``phase`` is Connect, Write or Read."""

    def __init__(self, phase: str) -> None:
        super().__init__(f"{phase}Timeout: timed out")


def _read_excerpt(response: http.client.HTTPResponse, deadline: float) -> tuple[str, bool]:
    """At most EXCERPT_CHARS of the body (stops early rather than wait past the deadline), and
    whether the body was read to its end (only then may the connection carry another request)."""
    data = b""
    while True:
        chunk = response.read1(EXCERPT_CHARS * 4 - len(data))
        data += chunk
        if not chunk or len(data) >= EXCERPT_CHARS * 4 or time.monotonic() > deadline:
            break
    complete = response.isclosed() or response.length == 0
    return data.decode("utf-8", "replace")[:EXCERPT_CHARS], complete


def _exchange(pool: connections.Connections, origin: connections.Origin, path: str, body: bytes,
              headers: dict[str, str], deadline: float) -> tuple[int, str | None, str]:
    """One POST on a keep-alive connection of ``pool``: (status, Location, excerpt). A reused
    connection that the server closed meanwhile is replaced once by a new one."""
    fresh = False
    while True:
        conn, reused = pool.take(origin, fresh=fresh)
        if not reused:
            try:
                conn.connect()
            except TimeoutError:
                conn.close()
                raise _Timeout("Connect") from None
            except OSError as exc:
                conn.close()
                raise _ConnectFailed(str(exc)) from None
        phase, answered = "Write", False
        try:
            conn.request("POST", path, body=body, headers=headers)
            phase = "Read"
            response = conn.getresponse()
            answered = True
            excerpt, complete = _read_excerpt(response, deadline)
        except connections.STALE:
            conn.close()
            if reused and not answered:  # closed by the server while idle: again, on a new connection
                fresh = True
                continue
            raise
        except TimeoutError:
            conn.close()
            raise _Timeout(phase) from None
        except BaseException:
            conn.close()
            raise
        if complete and not response.will_close:
            response.close()
            pool.give_back(origin, conn)
        else:
            conn.close()
        return response.status, response.getheader("location"), excerpt


def send(target: Target, via: Route, pool: connections.Connections, timeout: float) -> Outcome:
    """POST one delivery, signed, to the address ``via`` checked, on a keep-alive connection of
    ``pool``; never raises."""
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
        "Host": url.netloc.decode("ascii"),
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "webhook-id": target.msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": " ".join(sign(s, target.msg_id, stamp, target.body) for s in target.secrets),
    }
    path = url.raw_path.decode("ascii")
    for i, address in enumerate(via.addresses):
        try:
            status, location, excerpt = _exchange(pool, connections.origin_of(url, address), path, target.body,
                                                  headers, t0 + 2 * timeout)
        except _ConnectFailed as exc:
            if i + 1 < len(via.addresses):
                continue  # the host's next address, as a browser would
            return outcome(error=_clip(f"connect error: {exc}"))
        except _Timeout as exc:
            return outcome(error=str(exc))
        except (OSError, http.client.HTTPException) as exc:
            return outcome(error=_clip(f"{type(exc).__name__}: {exc}"))
        error = None
        if 300 <= status < 400:
            error = _clip(f"redirect not followed (Location: {location or '-'})")
        elif not 200 <= status < 300:
            error = f"HTTP {status}"
        return outcome(status_code=status, error=error, excerpt=excerpt)
    return outcome(error="not sent: no address")


# --- a batch --------------------------------------------------------------------------------------

class Sends:
    """The send threads and keep-alive connections of one run of deliveries (a ``dispatch_outbox``
    job: batch after batch), so that neither is set up again for every batch. Use as a context
    manager; without one, ``deliver_due`` makes its own for its batch."""

    def __init__(self, timeout: float, workers: int) -> None:
        self.timeout, self.workers = timeout, workers
        self.threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook")
        self.connections = connections.Connections(timeout)

    def close(self) -> None:
        self.threads.shutdown()
        self.connections.close()

    def __enter__(self) -> Sends:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send_all(targets: list[Target], via: Sends, allowed_hosts: frozenset[str]) -> list[Outcome]:
    """POST every target, ``via.workers`` at a time, on the keep-alive connections of ``via``: a
    connection carries only requests for the origin it was opened to (scheme, the address checked
    this batch, port, host name), so a host whose name now resolves elsewhere gets a new one."""
    by_endpoint: dict[int, Target] = {}
    for t in targets:
        by_endpoint.setdefault(t.endpoint_id, t)
    # Resolve each endpoint once per batch (in parallel: getaddrinfo has no timeout of its own).
    routes = dict(zip(by_endpoint, via.threads.map(lambda t: route(t.url, allowed_hosts),
                                                  by_endpoint.values()), strict=True))
    return list(via.threads.map(lambda t: send(t, routes[t.endpoint_id], via.connections, via.timeout), targets))
