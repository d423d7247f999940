"""The open-loop traffic of bench/load_mix.py: one generator process (several run side by side), each
owning its own resellers and signed-in users, so that no state is shared between processes.

Open loop: the scheduler thread puts request *k* of a step on the queue at ``start + k / rate``
whatever happened to earlier requests; a pool of sender threads (one HTTP connection each) takes
them. A request's latency runs from its **scheduled** time to the end of its answer, so a slow
server (or a pool too small) shows up as latency, not as a lower rate that hides queueing. The lag
between the scheduled time and the actual send is reported per step (``send_lag_p99_ms``): when it
grows, the generator (not the portal) is behind and the step says so.

Every answer is checked (status, and for a checkout the redirect to its payment); anything else,
including a socket error or a timeout, is an error of its kind.

The kinds and what each needs from earlier answers (a kind whose input is not there yet sends a
create instead, counted as a create):

* ``create``           POST /api/v1/integration/payment/create (201): an UNPAID order of one of its resellers;
* ``status``           GET  /api/v1/integration/payment/<id>/status (200) of an order created in the run;
* ``list_api``         GET  /api/v1/integration/payment?resellerId=..&pageSize=20 (200);
* ``list_page``        GET  /orders (200), the reseller's order list, signed in;
* ``checkout_wallet``  POST /checkout (303 to /payments/..) of 1-2 of the reseller's UNPAID orders by WALLET,
                       with the session's CSRF token and a fresh form token: paid at once;
* ``checkout_online``  the same by the ONLINE channel: the portal asks the sandbox gateway for a pay page;
* ``callback``         POST /api/v1/payment/callback/online/<channel> (200 'success'): the gateway's SUCCESS for
                       an ONLINE payment made earlier in the run, signed with the channel's callback secret by
                       the portal's own signing code; one in ten repeats a settled payment's callback (a new
                       event id, as a gateway retrying), which must change nothing;
* ``refund``           POST /api/v1/integration/payment/refund (201/202): part of a WALLET-paid order.
"""

from __future__ import annotations

import collections
import http.client
import json
import queue
import random
import re
import secrets
import threading
import time
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

from app.channels.online import signature

KINDS = ("create", "status", "list_api", "list_page", "checkout_wallet", "checkout_online", "callback", "refund")
DEFAULT_MIX = {"create": 30, "status": 25, "list_api": 7, "list_page": 8, "checkout_wallet": 12,
               "checkout_online": 6, "callback": 6, "refund": 6}
CREATE = "/api/v1/integration/payment/create"
TIMEOUT = 10.0
_META_TOKEN = re.compile(rb'<meta name="csrf-token" content="([^"]+)"')


def weighted_cycle(mix: dict[str, int]) -> list[str]:
    """One period of a smooth weighted round robin: each kind as often as its weight, spread out."""
    current = dict.fromkeys(mix, 0)
    total = sum(mix.values())
    out = []
    for _ in range(total):
        for k, w in mix.items():
            current[k] += w
        best = max(current, key=lambda k: current[k])
        current[best] -= total
        out.append(best)
    return out


class Failure(Exception):
    """An unexpected answer: its status and the start of its body."""

    def __init__(self, status: int | str, body: bytes | str = b""):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        super().__init__(f"{status} {text[:200]}")


class Skipped(Exception):
    """Nothing was sent: another sender took the orders this checkout wanted."""


class Client:
    """One keep-alive HTTP/1.1 connection (reopened after the server closes it) with a cookie jar."""

    def __init__(self, base: str):
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                # A kept-alive connection the server closed meanwhile: retried once on a new one
                # (nothing was processed); any other failure is the request's error.
                self.close()
                if attempt == 2:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            if resp.will_close:
                self.close()
            return resp, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _cookies(resp, jar: dict[str, str]) -> None:
    for header in resp.msg.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]


class User:
    """A signed-in reseller user: the session cookie and the CSRF token of its forms."""

    def __init__(self, reseller: str, email: str):
        self.reseller, self.email = reseller, email
        self.cookie = ""
        self.csrf = ""

    def sign_in(self, base: str, password: str) -> None:
        c, jar = Client(base), {}
        resp, page = c.request("GET", "/login")
        _cookies(resp, jar)
        token = _META_TOKEN.search(page)
        if resp.status != 200 or not token:
            raise Failure(resp.status, page)
        form = urlencode({"email": self.email, "password": password, "csrf_token": token.group(1).decode()})
        resp, page = c.request("POST", "/login", form.encode(), {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self._jar(jar)})
        _cookies(resp, jar)
        if resp.status not in (302, 303):
            raise Failure(f"sign-in of {self.email}: {resp.status}", page)
        self.cookie = self._jar(jar)
        resp, page = c.request("GET", "/orders", headers={"Cookie": self.cookie})
        token = _META_TOKEN.search(page)
        if resp.status != 200 or not token:
            raise Failure(f"/orders after sign-in: {resp.status}", page)
        self.csrf = token.group(1).decode()
        c.close()

    @staticmethod
    def _jar(jar: dict[str, str]) -> str:
        return "; ".join(f"{k}={v}" for k, v in jar.items())


class State:
    """What earlier answers made, for the kinds that need it (one lock: the work under it is tiny)."""

    def __init__(self, resellers: list[str]):
        self.lock = threading.Lock()
        self.unpaid: dict[str, collections.deque] = {r: collections.deque() for r in resellers}
        self.known: collections.deque = collections.deque(maxlen=5000)  # payment ids, for status reads
        self.online: collections.deque = collections.deque()  # (channel payment no, amount) to settle
        self.settled: collections.deque = collections.deque(maxlen=500)  # for repeated callbacks
        self.refundable: collections.deque = collections.deque()  # [payment id, refundable amount]

    def take_unpaid(self, reseller: str, n: int) -> list[tuple[str, str]]:
        with self.lock:
            q = self.unpaid[reseller]
            return [q.popleft() for _ in range(min(n, len(q)))]


class Generator:
    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.base = cfg["url"]
        self.api = {"Authorization": f"Bearer {cfg['api_key']}", "Content-Type": "application/json"}
        self.users = [User(r, e) for r, e in cfg["users"]]
        self.resellers = [u.reseller for u in self.users]
        self.state = State(self.resellers)
        self.rng = random.Random(cfg["seed"])
        self.prefix = cfg["prefix"]
        self.counter = 0
        self.count_lock = threading.Lock()
        self.cycle = weighted_cycle(cfg["mix"])
        self.db = None
        self.db_lock = threading.Lock()

    def setup(self) -> None:
        import psycopg

        self.db = psycopg.connect(self.cfg["database_url"], autocommit=True)
        for u in self.users:
            u.sign_in(self.base, self.cfg["password"])

    def next_id(self) -> int:
        with self.count_lock:
            self.counter += 1
            return self.counter

    # --- the requests ------------------------------------------------------------------------

    def plan(self, kind: str, n: int):
        """(kind actually sent, a function doing it) for the kind the cycle asks for."""
        st = self.state
        user = self.users[n % len(self.users)]
        with st.lock:
            if kind == "status" and not st.known:
                kind = "create"
            elif kind.startswith("checkout") and not st.unpaid[user.reseller]:
                kind = "create"
            elif kind == "callback" and not st.online:
                kind = "create"
            elif kind == "refund" and not st.refundable:
                kind = "create"
            arg = None
            if kind == "status":
                arg = st.known[self.rng.randrange(len(st.known))]
            elif kind == "callback":
                if st.settled and self.rng.random() < 0.1:
                    arg = (*st.settled[self.rng.randrange(len(st.settled))], True)
                else:
                    arg = (*st.online.popleft(), False)
            elif kind == "refund":
                arg = st.refundable.popleft()
        return kind, lambda c: getattr(self, kind)(c, user, arg)

    def create(self, c: Client, user: User, _arg) -> None:
        i = self.next_id()
        amount = f"{self.rng.randrange(100, 5000)}.{self.rng.randrange(100):02d}"
        body = json.dumps({"requestId": f"req-{self.prefix}-{i}", "orderId": f"SO-{self.prefix}-{i}",
                           "resellerId": user.reseller, "paymentType": "ADVANCE_PAYMENT", "paymentAmount": amount,
                           "businessDesc": "load mix", "tags": {"bench": "load_mix"}}).encode()
        resp, data = c.request("POST", CREATE, body, self.api)
        if resp.status != 201:
            raise Failure(resp.status, data)
        pid = json.loads(data)["data"]["paymentId"]
        with self.state.lock:
            self.state.unpaid[user.reseller].append((pid, amount))
            self.state.known.append(pid)

    def status(self, c: Client, _user: User, pid: str) -> None:
        resp, data = c.request("GET", f"/api/v1/integration/payment/{pid}/status", headers=self.api)
        if resp.status != 200:
            raise Failure(resp.status, data)

    def list_api(self, c: Client, user: User, _arg) -> None:
        resp, data = c.request("GET", f"/api/v1/integration/payment?resellerId={user.reseller}&pageSize=20",
                               headers=self.api)
        if resp.status != 200:
            raise Failure(resp.status, data)

    def list_page(self, c: Client, user: User, _arg) -> None:
        resp, data = c.request("GET", "/orders", headers={"Cookie": user.cookie})
        if resp.status != 200:
            raise Failure(resp.status, data)

    def _checkout(self, c: Client, user: User, channel: str) -> tuple[str, list[tuple[str, str]]]:
        rows = self.state.take_unpaid(user.reseller, 1 + self.rng.randrange(2))
        if not rows:
            raise Skipped
        form = {"csrf_token": user.csrf, "token": secrets.token_urlsafe(24)}
        for i, (pid, amount) in enumerate(rows):
            form[f"rows-{i}-payment_id"], form[f"rows-{i}-amount"], form[f"rows-{i}-channel"] = pid, amount, channel
        resp, data = c.request("POST", "/checkout", urlencode(form).encode(), {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": user.cookie})
        location = resp.getheader("Location") or ""
        if resp.status != 303 or "/payments/" not in location:
            raise Failure(resp.status, data)
        return location.rsplit("/", 1)[1], rows

    def checkout_wallet(self, c: Client, user: User, _arg) -> None:
        _, rows = self._checkout(c, user, self.cfg["wallet_channel"])
        with self.state.lock:
            self.state.refundable.extend([pid, Decimal(amount)] for pid, amount in rows)

    def checkout_online(self, c: Client, user: User, _arg) -> None:
        merged_payment_id, _ = self._checkout(c, user, self.cfg["online_channel"])
        self.after.append(merged_payment_id)  # its channel payment is looked up after the timing

    def callback(self, c: Client, _user: User, arg) -> None:
        cp_no, amount, repeat = arg
        body = json.dumps({"merchantNo": self.cfg["merchant_no"], "type": "payment", "merchantOrderNo": cp_no,
                           "gatewayTxnId": None, "status": "SUCCESS", "amount": amount,
                           "eventId": f"ev-{self.prefix}-{self.next_id()}", "paidAt": None},
                          separators=(",", ":")).encode()
        resp, data = c.request("POST", f"/api/v1/payment/callback/online/{self.cfg['online_channel']}", body, {
            "Content-Type": "application/json", signature.HEADER: signature.sign(self.cfg["callback_secret"], body)})
        if resp.status != 200 or data != b"success":
            raise Failure(resp.status, data)
        if not repeat:
            with self.state.lock:
                self.state.settled.append((cp_no, amount))

    def refund(self, c: Client, _user: User, arg) -> None:
        pid, left = arg
        amount = min(left, Decimal(self.rng.choice(("10.00", "25.50", "100.00", "300.00"))))
        body = json.dumps({"refundOrderId": f"RF-{self.prefix}-{self.next_id()}", "paymentId": pid,
                           "refundAmount": f"{amount:.2f}", "refundReason": "load mix"}).encode()
        resp, data = c.request("POST", "/api/v1/integration/payment/refund", body, self.api)
        if resp.status not in (201, 202):
            raise Failure(resp.status, data)
        if left - amount > 0:
            with self.state.lock:
                self.state.refundable.append([pid, left - amount])

    def lookup_online(self, merged_payment_id: str) -> None:
        with self.db_lock:
            rows = self.db.execute(
                "SELECT cp.channel_payment_id, cp.amount FROM channel_payments cp JOIN merged_payments mp "
                "ON mp.id = cp.merged_payment_id WHERE mp.merged_payment_id = %s", (merged_payment_id,)).fetchall()
        with self.state.lock:
            self.state.online.extend((no, f"{amount:.2f}") for no, amount in rows)

    # --- one step ----------------------------------------------------------------------------

    def run_step(self, rate: float, duration: float, connections: int) -> dict:
        """Send ``rate`` requests/s for ``duration`` s on schedule; the step's figures."""
        work: queue.Queue = queue.Queue()
        lat: dict[str, list[int]] = collections.defaultdict(list)
        ok: collections.Counter = collections.Counter()
        errors: collections.Counter = collections.Counter()
        first_errors: list[str] = []
        lags: list[int] = []
        self.after: collections.deque = collections.deque()
        rec = threading.Lock()

        def sender() -> None:
            c = Client(self.base)
            while True:
                item = work.get()
                if item is None:
                    break
                due, kind_asked, n = item
                kind, fn = self.plan(kind_asked, n)
                sent_at = time.perf_counter()
                try:
                    fn(c)
                    good, err = True, ""
                except Skipped:
                    continue
                except Exception as exc:  # noqa: BLE001 - every failure is counted and its first ones shown
                    good, err = False, f"{kind}: {type(exc).__name__} {exc}"[:300]
                done = time.perf_counter()
                with rec:
                    lags.append(int((sent_at - due) * 1e6))
                    if good:
                        ok[kind] += 1
                        lat[kind].append(int((done - due) * 1e6))
                    else:
                        errors[kind] += 1
                        if len(first_errors) < 5:
                            first_errors.append(err)
                while self.after:
                    try:
                        self.lookup_online(self.after.popleft())
                    except IndexError:
                        break
                    except Exception as exc:  # noqa: BLE001 - the bench's own read: shown, not the portal's error
                        with rec:
                            if len(first_errors) < 5:
                                first_errors.append(f"bench lookup: {type(exc).__name__} {exc}"[:300])
            c.close()

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(connections)]
        for t in threads:
            t.start()
        total = int(rate * duration)
        start = time.perf_counter() + 0.05
        for k in range(total):
            due = start + k / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            work.put((due, self.cycle[(k + self.cfg["offset"]) % len(self.cycle)], k))
        send_end = time.perf_counter()
        for _ in threads:
            work.put(None)
        for t in threads:
            t.join(TIMEOUT * 3)
        lags.sort()
        return {"scheduled": total, "lat": dict(lat), "ok": dict(ok), "errors": dict(errors),
                "first_errors": first_errors, "schedule_s": send_end - start,
                "send_lag_p99_us": lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else 0}


def main(cfg: dict, commands, results) -> None:
    """A generator process: set up, then run each ("step", rate, duration) command until "stop"."""
    gen = Generator(cfg)
    try:
        gen.setup()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops the run
        results.put({"setup_error": f"{type(exc).__name__}: {exc}"})
        return
    results.put({"ready": True})
    while True:
        cmd = commands.get()
        if cmd[0] == "stop":
            break
        _, rate, duration = cmd
        results.put(gen.run_step(rate, duration, cfg["connections"]))
