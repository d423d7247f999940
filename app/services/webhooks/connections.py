"""Keep-alive HTTP/1.1 connections for webhook sends, to addresses the send-time check admitted.

``http.client`` from the standard library: a POST costs about a third of the CPU of the same POST
through httpx (bench/README.md, ``webhooks.py``), and the sender needs nothing httpx adds (no
redirects, no proxies, no cookies, no decompression). A connection is opened to the checked
address itself; ``Host`` and TLS SNI (with certificate verification against the name) keep the
URL's host, so a DNS answer that changes after the check cannot redirect the request.

``Connections`` keeps the idle connections of one run of deliveries (one ``dispatch_outbox`` job,
or one ``deliver_due`` call), by origin (scheme, checked address, port, host name), and is shared
by its send threads: each connection serves one request at a time, and is given back only when
its answer was read to the end and the server did not ask to close. A connection that the server
closed while it was idle is noticed before it is used again (its socket is readable) and dropped.
"""

from __future__ import annotations

import functools
import http.client
import select
import ssl
import threading
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Origin:
    """Where one connection goes: the checked address, and the name it is for."""

    scheme: str  # http or https
    address: str  # an IP address the send-time check admitted (IPv6 without brackets)
    port: int
    host: str  # the URL's host: TLS SNI and certificate name
    netloc: str  # the URL's host[:port]: the Host header


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context of every connection, built once per process (loading the CA
    bundle costs ~20-40 ms of CPU): the one ``httpx.Client(trust_env=False)`` would build (certifi's
    CA bundle, hostname checks). An SSLContext is safe to share between threads."""
    return httpx.create_ssl_context(trust_env=False)


class _TLSConnection(http.client.HTTPSConnection):
    """HTTPS to an address, with SNI and certificate verification for the host name."""

    def __init__(self, origin: Origin, timeout: float) -> None:
        self._tls = tls_context()
        super().__init__(origin.address, origin.port, timeout=timeout, context=self._tls)
        self._server_hostname = origin.host

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=self._server_hostname)


def open_connection(origin: Origin, timeout: float) -> http.client.HTTPConnection:
    """A new, not yet connected, connection to ``origin``; every socket operation times out after
    ``timeout`` seconds (connect, each write, each read)."""
    if origin.scheme == "https":
        return _TLSConnection(origin, timeout)
    return http.client.HTTPConnection(origin.address, origin.port, timeout=timeout)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle connection whose socket is readable was closed by the server (or sent something
    unasked): it must not carry another request."""
    sock = conn.sock
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class Connections:
    """The idle keep-alive connections of one run of deliveries, by origin; thread-safe."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.opened = 0  # connections opened (the tests and the bench read it)

    def take(self, origin: Origin, fresh: bool = False) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection to ``origin`` (True: reused) or a new one, not yet connected (False;
        always with ``fresh``)."""
        while not fresh:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None:
                break
            if not _dropped(conn):
                return conn, True
            conn.close()
        with self._lock:
            self.opened += 1
        return open_connection(origin, self.timeout), False

    def give_back(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        """Keep ``conn`` for the next request to ``origin`` (its last answer was read to the end)."""
        with self._lock:
            if not self._closed:
                self._idle.setdefault(origin, []).append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def __enter__(self) -> Connections:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def origin_of(url: httpx.URL, address: str) -> Origin:
    """The origin of a send of ``url`` to the checked ``address``."""
    default = 443 if url.scheme == "https" else 80
    return Origin(url.scheme, address, url.port or default, url.raw_host.decode("ascii"),
                  url.netloc.decode("ascii"))


# Errors of a reused connection that mean "the server closed it while it was idle", raised before
# any answer was read: the request is sent again once on a new connection (at least once: the
# receiver dedupes on webhook-id if it did see the first one).
STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
