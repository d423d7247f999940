"""A real HTTP receiver of webhooks on 127.0.0.1 (replies scripted per path) and an independent
Standard Webhooks verifier: what an upstream system does with the portal's deliveries. A pytest plugin
(tests/conftest.py ``pytest_plugins``): the ``receiver`` fixture is a started one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# --- a real receiver ---------------------------------------------------------------------------------

@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    hang_up: bool = False  # close the connection after the answer, without saying so (a keep-alive timeout)


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes
    peer: tuple | None = None  # the client's (address, port): one per connection


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle keep-alive connection ends its thread

    def _answer(self):
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = receiver.next_reply(self.path)
        receiver.add(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                              self.client_address))
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)
        if reply.hang_up:
            self.close_connection = True

    do_POST = do_GET = _answer

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: no socket outlives a test

    def handle_error(self, request, client_address):
        pass  # a client that timed out and left is expected in the slow-receiver test


class Receiver:
    """An HTTP server in a thread; replies are scripted per path (a queue, then a standing reply)."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
        self.host = host
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.queued: dict[str, deque] = {}
        self.standing: dict[str, Reply] = {}
        self.server = _Server((host, 0), _Handler)
        if tls is not None:  # HTTPS: each accepted connection does its TLS handshake in its own thread
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True, do_handshake_on_connect=False)
        self.server.receiver = self
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.server.server_port}{path}"

    def reply(self, path: str, *replies: Reply, always: Reply | None = None) -> None:
        with self.lock:
            self.queued.setdefault(path, deque()).extend(replies)
            if always is not None:
                self.standing[path] = always

    def next_reply(self, path: str) -> Reply:
        with self.lock:
            q = self.queued.get(path)
            return q.popleft() if q else self.standing.get(path, Reply())

    def add(self, r: Received) -> None:
        with self.lock:
            self.received.append(r)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def ids(self) -> Counter:
        with self.lock:
            return Counter(r.headers.get("webhook-id") for r in self.received)


def started(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Receiver:
    r = Receiver(host, tls)
    r.thread.start()
    return r


def stop(r: Receiver) -> None:
    r.server.shutdown()
    r.server.server_close()
    r.thread.join(5)


@pytest.fixture
def receiver():
    """A receiver on 127.0.0.1, stopped after the test (some folders and modules have one of their own)."""
    r = started()
    yield r
    stop(r)


# --- an independent Standard Webhooks verifier (https://www.standardwebhooks.com/) -------------------

def verify(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> dict:
    """What a receiver does: HMAC-SHA256 keyed with the base64-decoded part after ``whsec_`` over
    ``{webhook-id}.{webhook-timestamp}.{raw body}``; any one ``v1`` signature may match."""
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(stamp)) <= tolerance, "timestamp outside the tolerance"
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    for part in headers["webhook-signature"].split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), expected):
            return json.loads(body)
    raise AssertionError("no valid signature")
