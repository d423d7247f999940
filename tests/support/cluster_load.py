"""A mixed load that survives faults: each client thread (a reseller's operator, signed in; two threads
may share a reseller and race on its wallet) goes round creating orders, paying one by WALLET,
refunding part of it, paying one ONLINE (the sandbox gateway completes it and sends its signed
callback through the load balancer) and reading a status;
a request that fails (socket error, timeout, 5xx, 409 REQUEST_IN_PROGRESS) is sent again with the
SAME key — Idempotency-Key for a create, the form token for a checkout, refundOrderId for a refund
(docs/API.md §2) — until it gets its answer. What every answer said is recorded, so the test can
check afterwards that each create answered 2xx exists exactly once, each checkout's payment exists,
and no money effect happened twice (``doubled_effects``).

Used by tests/cluster/test_kill.py; the sign-in is bench/mix_traffic.py's."""

from __future__ import annotations

import collections
import http.client
import json
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import psycopg

from bench.mix_traffic import CREATE, TIMEOUT, Failure, User

RETRY_FOR = 45.0  # seconds one operation keeps retrying (a web group's restart takes a few)
RETRY_PAUSE = 0.2


class Retry(Exception):
    """An answer that says "try again" (the request may or may not have been applied)."""


@dataclass
class Record:
    """What the clients were told, by kind."""

    creates: dict[str, str] = field(default_factory=dict)      # Idempotency-Key -> paymentId
    wallet_payments: dict[str, str] = field(default_factory=dict)  # form token -> merged payment id
    online_payments: dict[str, str] = field(default_factory=dict)  # form token -> merged payment id
    completed_at_gateway: list[str] = field(default_factory=list)  # gateway txn ids completed SUCCESS
    refunds: dict[str, str] = field(default_factory=dict)      # refundOrderId -> status answered
    retries: collections.Counter = field(default_factory=collections.Counter)  # kind -> requests sent again
    errors: collections.Counter = field(default_factory=collections.Counter)  # "kind: what came back" -> times
    served_by: list[tuple[float, str]] = field(default_factory=list)  # (time, X-Served-By) of every answer
    failures: list[str] = field(default_factory=list)           # operations that never got their answer
    lock: threading.Lock = field(default_factory=threading.Lock)


class LoadClient:
    """One thread's work: one reseller, a session of its operator, its own orders."""

    def __init__(self, base: str, api_key: str, user: User, gateway: str, database_url: str, record: Record,
                 tag: str):
        self.base, self.user, self.gateway, self.record, self.tag = base, user, gateway, record, tag
        self.api = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.conn: http.client.HTTPConnection | None = None
        self.db = psycopg.connect(database_url, autocommit=True)
        self.n = 0
        self.rounds = 0

    def send(self, kind: str, method: str, path: str, body: bytes | None, headers: dict, ok: tuple[int, ...]):
        """Send until an answer in ``ok`` (or a final refusal), the same request every time."""
        deadline = time.monotonic() + RETRY_FOR
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1:
                with self.record.lock:
                    self.record.retries[kind] += 1
            try:
                resp, data = self.request(method, path, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                # Refused, reset, closed without an answer, timed out: the answer is lost, and
                # whether the request was applied is unknown.
                last = type(exc).__name__
                with self.record.lock:
                    self.record.errors[f"{kind}: {last}"] += 1
            else:
                with self.record.lock:
                    self.record.served_by.append((time.time(), resp.getheader("X-Served-By") or "?"))
                if resp.status in ok:
                    return resp, data
                if resp.status < 500 and not (resp.status == 409 and b"REQUEST_IN_PROGRESS" in data):
                    raise Failure(f"{kind}: {resp.status}", data)
                last = f"{resp.status} {data[:200]!r}"
                with self.record.lock:
                    self.record.errors[f"{kind}: {resp.status}"] += 1
            if time.monotonic() > deadline:
                raise Failure(f"{kind}: no answer after {attempt} attempts in {RETRY_FOR:g} s", last)
            time.sleep(RETRY_PAUSE)

    def request(self, method: str, path: str, body: bytes | None, headers: dict):
        """One request on the kept-alive connection (opened again after a failure). Unlike
        bench/mix_traffic.py's Client, a connection closed without an answer is not sent again
        here: ``send`` counts it and sends it again with its key."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            data = resp.read()
        except BaseException:
            self.close()
            raise
        if resp.will_close:
            self.close()
        return resp, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def next_id(self) -> str:
        self.n += 1
        return f"{self.tag}-{self.n}"

    def create(self) -> tuple[str, str]:
        key = f"key-{self.next_id()}"
        amount = f"{100 + self.n}.{self.n % 100:02d}"
        body = json.dumps({"orderId": f"SO-{key}", "resellerId": self.user.reseller, "paymentType": "ADVANCE_PAYMENT",
                           "paymentAmount": amount, "businessDesc": "cluster kill test"}).encode()
        _, data = self.send("create", "POST", CREATE, body, {**self.api, "Idempotency-Key": key}, (200, 201))
        payment_id = json.loads(data)["data"]["paymentId"]
        with self.record.lock:
            if self.record.creates.setdefault(key, payment_id) != payment_id:
                raise Failure("create", f"key {key} answered two payment ids")
        return payment_id, amount

    def checkout(self, payment_id: str, amount: str, channel: str) -> tuple[str, str]:
        token = secrets.token_urlsafe(24)
        form = urlencode({"csrf_token": self.user.csrf, "token": token, "rows-0-payment_id": payment_id,
                          "rows-0-amount": amount, "rows-0-channel": channel}).encode()
        resp, data = self.send(f"checkout {channel}", "POST", "/checkout", form, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self.user.cookie}, (303,))
        location = resp.getheader("Location") or ""
        if "/payments/" not in location:
            raise Failure("checkout", f"redirected to {location}")
        return token, location.rsplit("/", 1)[1]

    def refund(self, payment_id: str, amount: Decimal) -> None:
        refund_order_id = f"RF-{self.next_id()}"
        body = json.dumps({"refundOrderId": refund_order_id, "paymentId": payment_id,
                           "refundAmount": f"{amount:.2f}", "refundReason": "cluster kill test"}).encode()
        _, data = self.send("refund", "POST", "/api/v1/integration/payment/refund", body, self.api, (200, 201, 202))
        with self.record.lock:
            self.record.refunds[refund_order_id] = json.loads(data)["data"].get("status", "?")

    def complete_online(self, merged_payment_id: str) -> None:
        """The customer pays at the gateway: the sandbox completes the payment and sends its signed
        callback to the portal's notify URL (the load balancer), retrying it as a bank does."""
        row = self.db.execute(
            "SELECT cp.channel_transaction_id FROM channel_payments cp JOIN merged_payments mp "
            "ON mp.id = cp.merged_payment_id WHERE mp.merged_payment_id = %s", (merged_payment_id,)).fetchone()
        if row is None or row[0] is None:
            return  # the gateway was never reached (the web process died before); nothing to pay
        req = urllib.request.Request(f"{self.gateway}/_sandbox/payments/{row[0]}/complete",
                                     data=json.dumps({"status": "SUCCESS"}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
        with self.record.lock:
            self.record.completed_at_gateway.append(row[0])

    def round(self) -> None:
        self.rounds += 1
        wallet_order, amount = self.create()
        online_order, online_amount = self.create()
        self.create()  # left UNPAID
        token, merged = self.checkout(wallet_order, amount, "WALLET")
        with self.record.lock:
            self.record.wallet_payments[token] = merged
        self.refund(wallet_order, Decimal("10.00"))
        if self.rounds % 2:  # every other round (each settled payment is a receipt for the workers to print)
            token, merged = self.checkout(online_order, online_amount, "ONLINE_UNIONPAY")
            with self.record.lock:
                self.record.online_payments[token] = merged
            self.complete_online(merged)
        self.send("status", "GET", f"/api/v1/integration/payment/{wallet_order}/status", None, self.api, (200,))

    def run(self, stop: threading.Event, pause: float) -> None:
        try:
            while not stop.is_set():
                self.round()
                stop.wait(pause)
        except Exception as exc:  # noqa: BLE001 - the test reports every client that gave up
            with self.record.lock:
                self.record.failures.append(f"{self.user.reseller}: {type(exc).__name__} {exc}"[:500])
        finally:
            self.close()
            self.db.close()


def start_load(base: str, api_key: str, users: list[tuple[str, str]], password: str, gateway: str,
               database_url: str, record: Record, pause: float = 0.0) -> tuple[threading.Event, list[threading.Thread]]:
    """One signed-in client thread per (reseller, email), each resting ``pause`` seconds between its
    rounds; returns the stop event and the threads."""
    stop = threading.Event()
    threads = []
    for i, (reseller, email) in enumerate(users):
        user = User(reseller, email)
        user.sign_in(base, password)
        client = LoadClient(base, api_key, user, gateway, database_url, record, f"{secrets.token_hex(3)}c{i}")
        threads.append(threading.Thread(target=client.run, args=(stop, pause), name=f"load-{reseller}", daemon=True))
    for t in threads:
        t.start()
    return stop, threads


def doubled_effects(conn: psycopg.Connection, record: Record) -> list[str]:
    """What the load's answers promise, checked over the database (beyond tests/support/invariants.py):
    each create answered 2xx is one order (its key made exactly one), each checkout answered is one
    merged payment, each refund answered exists once; no order has two SUCCESS payments (settled
    twice), no channel payment two wallet debits, no refund part two wallet credits."""
    found = []
    by_order_id: dict[str, list[str]] = collections.defaultdict(list)
    for order_id, payment_id in conn.execute(
            "SELECT order_id, payment_id FROM payment_orders WHERE order_id LIKE 'SO-key-%'"):
        by_order_id[order_id].append(payment_id)
    for key, payment_id in record.creates.items():
        rows = by_order_id.get(f"SO-{key}", [])
        if rows != [payment_id]:
            found.append(f"create {key} answered {payment_id}; the database has {rows}")
    for token, merged in {**record.wallet_payments, **record.online_payments}.items():
        rows = [r[0] for r in conn.execute("SELECT merged_payment_id FROM merged_payments WHERE submit_token = %s",
                                           (token,))]
        if rows != [merged]:
            found.append(f"checkout {token[:8]}… answered {merged}; the database has {rows}")
    for refund_order_id in record.refunds:
        n = conn.execute("SELECT count(*) FROM refunds WHERE refund_order_id = %s", (refund_order_id,)).fetchone()[0]
        if n != 1:
            found.append(f"refund {refund_order_id} answered; {n} in the database")
    for payment_id, n in conn.execute(
            "SELECT o.payment_id, count(*) FROM transactions t JOIN payment_orders o ON o.id = t.payment_order_id "
            "WHERE t.transaction_type = 'PAYMENT' AND t.status = 'SUCCESS' GROUP BY o.payment_id HAVING count(*) > 1"):
        found.append(f"order {payment_id} settled {n} times")
    for ref, entry_type, n in conn.execute(
            "SELECT reference, entry_type, count(*) FROM wallet_entries WHERE entry_type IN ('PAYMENT', 'REFUND') "
            "GROUP BY reference, entry_type HAVING count(*) > 1"):
        found.append(f"wallet entry {entry_type} of {ref} written {n} times")
    return found
