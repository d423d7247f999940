"""Test helpers, reusable by the portal's tests: run the sandbox gateway as a real subprocess, call its
merchant API signed, and receive its callbacks on a tiny local HTTP server.

    gw = start_sandbox(faults={"callback_retry_base_ms": 50})
    try:
        client = gw.client()                      # signed as the first merchant
        r = client.call("/api/payments", merchantOrderNo="O1", amount="1.00", ...)
        gw.complete_payment(r.json()["gatewayTxnId"], "SUCCESS")
    finally:
        gw.stop()

Standard library only (no requests/httpx), so it works in any environment that has the repo.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import signing

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MERCHANTS: dict[str, tuple[str, str]] = {
    "MCH1001": ("test-api-secret-1001", "test-callback-secret-1001"),
    "MCH2002": ("test-api-secret-2002", "test-callback-secret-2002"),
}
_LISTENING_RE = re.compile(r"sandbox gateway listening on (http://\S+)")


# -- plain HTTP ------------------------------------------------------------------------------------------

@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def http_request(method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
                 timeout: float = 10.0) -> HttpResponse:
    """One request with http.client: no proxy, no redirect following. Timeouts raise TimeoutError."""
    parts = urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                     headers=dict(headers or {}))
        resp = conn.getresponse()
        return HttpResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


class SandboxClient:
    """A merchant's signed client for the gateway's /api endpoints."""

    def __init__(self, base_url: str, merchant_no: str, api_secret: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.merchant_no, self.api_secret, self.timeout = merchant_no, api_secret, timeout

    def post(self, path: str, body: dict | bytes, *, secret: str | None = None, t: int | None = None,
             sign: bool = True, signature: str | None = None, timeout: float | None = None) -> HttpResponse:
        """POST ``body`` (a dict is serialised compactly) signed with ``secret`` (default: the API secret)
        at ``t`` (default: now). ``signature`` sends that header value verbatim; ``sign=False`` none."""
        raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers[signing.HEADER] = signature
        elif sign:
            headers[signing.HEADER] = signing.sign(secret or self.api_secret, raw, t)
        return http_request("POST", self.base_url + path, raw, headers, timeout or self.timeout)

    def call(self, path: str, *, timeout: float | None = None, **fields) -> HttpResponse:
        """POST ``{"merchantNo": <this merchant>, **fields}`` signed."""
        return self.post(path, {"merchantNo": self.merchant_no, **fields}, timeout=timeout)


# -- the subprocess --------------------------------------------------------------------------------------

class SandboxProcess:
    """A running ``python -m sandbox``. Use ``stop()`` (or ``with``) to end it."""

    def __init__(self, proc: subprocess.Popen, base_url: str, workdir: str, db_path: str, log_path: str,
                 merchants: dict[str, tuple[str, str]], admin_token: str | None, cleanup: bool):
        self.proc, self.base_url, self.workdir = proc, base_url, workdir
        self.db_path, self.log_path, self.merchants, self.admin_token = db_path, log_path, merchants, admin_token
        self.port = urlsplit(base_url).port
        self._cleanup = cleanup

    # lifecycle
    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait, SIGKILL if needed; returns the exit code. Idempotent."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._cleanup:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._cleanup = False
        return self.proc.returncode

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_text(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # clients
    def client(self, merchant_no: str | None = None, timeout: float = 10.0) -> SandboxClient:
        merchant_no = merchant_no or next(iter(self.merchants))
        return SandboxClient(self.base_url, merchant_no, self.merchants[merchant_no][0], timeout)

    def callback_secret(self, merchant_no: str | None = None) -> str:
        return self.merchants[merchant_no or next(iter(self.merchants))][1]

    # admin
    def admin(self, method: str, path: str, body: dict | None = None, timeout: float = 10.0) -> HttpResponse:
        headers = {"Content-Type": "application/json"}
        if self.admin_token:
            headers["X-Sandbox-Admin"] = self.admin_token
        raw = json.dumps(body).encode() if body is not None else None
        return http_request(method, self.base_url + path, raw, headers, timeout)

    def _admin_json(self, method: str, path: str, body: dict | None = None):
        r = self.admin(method, path, body)
        if r.status != 200:
            raise RuntimeError(f"{method} {path} → {r.status}: {r.text}")
        return r.json()

    def faults(self) -> dict:
        return self._admin_json("GET", "/_sandbox/faults")

    def set_faults(self, **knobs) -> dict:
        return self._admin_json("PUT", "/_sandbox/faults", knobs)

    def reset(self) -> dict:
        return self._admin_json("POST", "/_sandbox/reset")

    def admin_callbacks(self, object_id: str | None = None) -> list[dict]:
        """The callbacks of one payment or refund (or all), each with its delivery attempts."""
        query = f"?objectId={object_id}" if object_id else ""
        return self._admin_json("GET", f"/_sandbox/callbacks{query}")["callbacks"]

    def set_callback_secret(self, secret: str, merchant_no: str | None = None) -> dict:
        merchant_no = merchant_no or next(iter(self.merchants))
        return self._admin_json("PUT", f"/_sandbox/merchants/{merchant_no}/callback-secret", {"callbackSecret": secret})

    def stats(self) -> dict:
        return self._admin_json("GET", "/_sandbox/stats")

    def webhooks_received(self) -> dict[str, dict]:
        """What each webhook receiver got (``GET /receivers/received``), by system."""
        r = http_request("GET", self.base_url + "/receivers/received", timeout=10)
        return {rx["system"]: rx for rx in r.json()["receivers"]}

    def payment(self, gateway_txn_id: str) -> dict:
        return self._admin_json("GET", f"/_sandbox/payments/{gateway_txn_id}")

    def complete_payment(self, gateway_txn_id: str, status: str = "SUCCESS", **extra) -> dict:
        return self._admin_json("POST", f"/_sandbox/payments/{gateway_txn_id}/complete", {"status": status, **extra})

    def resend_callback(self, gateway_txn_id: str) -> dict:
        return self._admin_json("POST", f"/_sandbox/callbacks/resend/{gateway_txn_id}")

    def flush_callbacks(self) -> dict:
        return self._admin_json("POST", "/_sandbox/callbacks/flush")

    # the bank's receiving side (PROTOCOL.md §13)
    def receive_wire(self, account_no: str, payer_name: str, payer_account: str, amount: str, memo: str = "",
                     value_date: str | None = None) -> dict:
        body = {"accountNo": account_no, "payerName": payer_name, "payerAccount": payer_account,
                "amount": amount, "memo": memo, **({"valueDate": value_date} if value_date else {})}
        return self._admin_json("POST", "/_sandbox/bank/wires", body)

    def bank_statement(self, account_no: str, day: str, fmt: str = "csv", encoding: str = "gbk") -> bytes:
        """The statement file's bytes, as finance would download it from the bank."""
        r = self.admin("GET", f"/_sandbox/bank/statements/{account_no}/{day}?format={fmt}&encoding={encoding}")
        if r.status != 200:
            raise RuntimeError(f"statement {account_no} {day} {fmt} → {r.status}: {r.text}")
        return r.body


def start_sandbox(port: int | None = None, merchants: Mapping[str, tuple[str, str]] | None = None,
                  faults: Mapping | None = None, *, host: str = "127.0.0.1", admin_token: str | None = None,
                  workdir: str | None = None, db_path: str | None = None, startup_timeout: float = 20.0,
                  extra_args: tuple[str, ...] = (), python: str | None = None,
                  webhook_secrets: Mapping[str, str] | None = None) -> SandboxProcess:
    """Start ``python -m sandbox`` (port None → a free port chosen by the OS), wait for /healthz.

    ``merchants``: {merchantNo: (api_secret, callback_secret)}, default ``DEFAULT_MERCHANTS``;
    ``webhook_secrets``: {receiver system: whsec_ secret} for the webhook receivers (receivers.py).
    Output goes to ``<workdir>/sandbox.log``; a temporary workdir is deleted by ``stop()``.
    SANDBOX_* variables of this environment are not passed on, so only the arguments count."""
    merchants = dict(merchants or DEFAULT_MERCHANTS)
    cleanup = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="sandbox-gw-")
    db_path = db_path or os.path.join(workdir, "sandbox.db")
    log_path = os.path.join(workdir, "sandbox.log")
    cmd = [python or sys.executable, "-m", "sandbox", "--host", host, "--port", str(port or 0), "--db", db_path]
    for no, (api, cb) in merchants.items():
        cmd += ["--merchant", f"{no}:{api}:{cb}"]
    if admin_token:
        cmd += ["--admin-token", admin_token]
    if faults:
        cmd += ["--faults", json.dumps(dict(faults))]
    for system, secret in (webhook_secrets or {}).items():
        cmd += ["--webhook-secret", f"{system}:{secret}"]
    cmd += list(extra_args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=REPO_ROOT)
    gw = SandboxProcess(proc, "", workdir, db_path, log_path, merchants, admin_token, cleanup)
    deadline = time.monotonic() + startup_timeout
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"sandbox exited with {proc.returncode}:\n{gw.log_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not start within {startup_timeout} s:\n{gw.log_text()}")
            m = _LISTENING_RE.search(gw.log_text())
            if m:
                gw.base_url, gw.port = m.group(1), urlsplit(m.group(1)).port
                try:
                    if http_request("GET", gw.base_url + "/healthz", timeout=2).status == 200:
                        return gw
                except OSError:
                    pass
            time.sleep(0.05)
    except BaseException:
        gw.stop()
        raise


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.03):
    """Poll ``predicate`` until it returns something truthy (returned); AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# -- receiving callbacks -----------------------------------------------------------------------------------

@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    def json(self):
        return json.loads(self.body)

    @property
    def signature(self) -> str | None:
        return self.headers.get(signing.HEADER.lower())


class CallbackReceiver:
    """A local HTTP server (127.0.0.1, free port, own thread) that records every POST and answers
    ``status``/``body`` (default 200 ``success``), or what ``responder(request)`` returns."""

    def __init__(self, status: int = 200, body: bytes = b"success", host: str = "127.0.0.1"):
        self.status, self.body = status, body
        self.responder: Callable[[ReceivedRequest], tuple[int, bytes]] | None = None
        self.requests: list[ReceivedRequest] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                req = ReceivedRequest(self.path, {k.lower(): v for k, v in self.headers.items()},
                                      self.rfile.read(length))
                status, body = receiver._answer(req)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep test output clean
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="callback-receiver", daemon=True)
        self._thread.start()

    def _answer(self, req: ReceivedRequest) -> tuple[int, bytes]:
        responder = self.responder
        status, body = responder(req) if responder else (self.status, self.body)
        with self._cond:
            self.requests.append(req)
            self._cond.notify_all()
        return status, body

    def url(self, path: str = "/notify") -> str:
        return self.base_url + path

    def wait_for(self, count: int = 1, timeout: float = 5.0,
                 predicate: Callable[[ReceivedRequest], bool] | None = None) -> list[ReceivedRequest]:
        """The first ``count`` requests matching ``predicate``; AssertionError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                matched = [r for r in self.requests if predicate is None or predicate(r)]
                if len(matched) >= count:
                    return matched[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} callback(s) within {timeout} s, got {len(matched)}")
                self._cond.wait(left)

    def clear(self) -> None:
        with self._cond:
            self.requests.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> CallbackReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
