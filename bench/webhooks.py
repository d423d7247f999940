"""Benchmark: outbox -> webhook delivery throughput and commit-to-delivery latency, on PostgreSQL.

    .venv/bin/python bench/webhooks.py [--events 20000] [--workers 2] [--steady-rate 200]
                                       [--steady-seconds 20] [--tick 5]
                                       [--database-url postgresql://postgres@127.0.0.1:5432/test]
                                       [--redis-url redis://127.0.0.1:6379/2]

What it does (see bench/README.md):

1. creates a fresh database ``portal_bench_<random>`` on the server of ``--database-url``, runs
   ``flask db upgrade``, creates an API client and ONE webhook endpoint (every event type) whose URL
   is the receiver below;
2. starts the receiver in a child process: ``http.server.ThreadingHTTPServer`` speaking HTTP/1.1
   (keep-alive), which checks each request's Standard Webhooks signature (one HMAC-SHA256 of
   ``id.timestamp.body`` with the endpoint's secret, compared with the ``v1,`` signatures sent),
   records the ``webhook-id`` and its receive time (``time.time()``) and answers 204;
3. starts ``--workers`` real ``python worker.py --queues default`` processes (the bench's own
   RQ_QUEUE_PREFIX; WEBHOOK_ALLOWED_HOSTS=127.0.0.1 so that the loopback receiver is admitted);
4. baseline: a plain loop of signed POSTs (``sender.sign``, the project's signer; the same body as a
   delivery) over ONE keep-alive ``httpx.Client`` to the same receiver, in this process — run
   before and after the delivery run, the mean of the two is the baseline;
5. throughput: ``--events`` outbox events committed up front (``outbox.emit``, 1,000 per
   transaction), then one ``app.jobs.webhooks.dispatch_outbox`` job per worker is enqueued (what the
   scheduler's tick enqueues); timed from the enqueue until every delivery is DELIVERED in the
   database (fan-out, claim, POST, record: all of it). The receiver must have seen every event with
   a valid signature, exactly once;
6. steady latency: this process commits one event per transaction at ``--steady-rate`` events/s for
   ``--steady-seconds`` while a ``dispatch_outbox`` job is enqueued every ``--tick`` seconds (5 s is
   the production schedule of app/jobs/cron.py); latency = the receiver's receive time - the outbox
   row's ``created_at``, p50/p99/max over every event. Twice: with the wake-up after each commit
   (services/webhooks/wake.py, the production setting) and with the tick alone
   (``WEBHOOK_WAKE_ON_COMMIT`` off). The throughput run has the wake-up off, so that no delivery
   starts before its timed enqueue;
7. prints the figures, writes bench/results/webhooks.json, stops the children and drops the database
   (unless ``--keep-db``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.create_order import (  # noqa: E402
    GroupsCpu,
    create_database,
    drop_or_keep_database,
    empty_queues_and_disconnect,
    free_port,
    stop_processes,
)

RESULTS = ROOT / "bench" / "results"
TARGET_EPS = 1000.0
WARMUP = 200
PAYLOAD = {"paymentId": "PAY20261203000123", "orderId": "SO-R1001-0000123", "resellerCode": "R1001",
           "paymentType": "ADVANCE_PAYMENT", "paymentStatus": "PAID", "paymentAmount": "1250000.00",
           "paidAmount": "1250000.00", "currency": "CNY", "updatedAt": "2026-12-03T10:00:00Z"}


def log(msg: str = "") -> None:
    print(msg, flush=True)


# --- the receiver (child process) ------------------------------------------------------------------

def receiver_main(port: int, secret: str) -> None:
    """Serve until killed. POST: verify, record (id, time), 204. GET /stats, /dump, POST /reset."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    lock = threading.Lock()
    seen: dict[str, float] = {}
    state = {"requests": 0, "bad": 0, "duplicates": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # noqa: ANN002
            pass

        def _answer(self, code: int, body: bytes = b"") -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            if body:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_POST(self) -> None:
            at = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/reset":
                with lock:
                    seen.clear()
                    state.update(requests=0, bad=0, duplicates=0)
                return self._answer(204)
            msg_id = self.headers.get("webhook-id", "")
            stamp = self.headers.get("webhook-timestamp", "")
            mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
            expected = "v1," + base64.b64encode(mac).decode()
            ok = any(hmac.compare_digest(expected, s) for s in self.headers.get("webhook-signature", "").split())
            with lock:
                state["requests"] += 1
                if not ok:
                    state["bad"] += 1
                elif msg_id in seen:
                    state["duplicates"] += 1
                else:
                    seen[msg_id] = at
            self._answer(204 if ok else 401)

        def do_GET(self) -> None:
            with lock:
                if self.path == "/dump":
                    data = dict(seen)
                else:
                    data = {**state, "unique": len(seen)}
            self._answer(200, json.dumps(data).encode())

    class Server(ThreadingHTTPServer):
        # socketserver's default listen backlog is 5: sixteen connections opened at once (two
        # workers x WEBHOOK_CONCURRENCY, or the concurrent baseline) overflow it and get reset.
        request_queue_size = 128
        daemon_threads = True

    server = Server(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


def receiver_get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.loads(r.read())


def receiver_reset(base: str) -> None:
    urllib.request.urlopen(urllib.request.Request(base + "/reset", data=b"", method="POST"), timeout=10).read()


# --- the bench -------------------------------------------------------------------------------------

def prepare(env: dict, receiver_url: str) -> str:
    """Migrate; an API client and one endpoint for every event type. Returns the endpoint's secret."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    from app.extensions import db
    from app.services.accounts import api_clients
    from app.services.platform.actor import Actor
    from app.services.webhooks import endpoints

    actor = Actor(type="system", id="bench")
    client, _ = api_clients.create_client(actor, "bench-webhooks", api_clients.parse_scopes("payments"))
    cid = client.id
    db.session.commit()
    _, secret = endpoints.register_endpoint(actor, cid, receiver_url, "*", "bench receiver")
    return secret


def emit_events(n: int, per_transaction: int = 1000) -> None:
    from app.services.platform import outbox
    from app.services.platform.unit_of_work import transaction

    for start in range(0, n, per_transaction):
        with transaction():
            for i in range(start, min(n, start + per_transaction)):
                outbox.emit("payment_order.updated", "payment_order", f"PAY{i:012d}", PAYLOAD)


def delivered_count() -> int:
    from app.extensions import db
    from app.models import WebhookDelivery

    n = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)
                          .where(WebhookDelivery.status == "DELIVERED"))
    db.session.rollback()
    return int(n or 0)


def enqueue_dispatch(n: int = 1) -> None:
    from app.services.platform.queues import queue

    q = queue("default")
    for _ in range(n):
        q.enqueue("app.jobs.webhooks.dispatch_outbox", result_ttl=60, failure_ttl=3600, job_timeout=300)


def wait_delivered(rcv: str, events: int, target: int, timeout: float) -> float:
    """Wait until the receiver has seen ``events`` events, then until ``target`` deliveries are
    DELIVERED in the database; returns the perf_counter() when the database says so. The receiver is
    polled first because a count(*) of the DELIVERED rows every 50 ms costs PostgreSQL CPU in
    proportion to the rows already there — quadratic in the run's size, and counted as the
    delivery's own (it was ~0.5 ms of PostgreSQL CPU per event over 20,000 events)."""
    deadline = time.perf_counter() + timeout
    while receiver_get(rcv, "/stats")["unique"] < events:
        if time.perf_counter() > deadline:
            raise SystemExit(f"the receiver saw {receiver_get(rcv, '/stats')} of {events} after {timeout:.0f} s")
        time.sleep(0.05)
    while True:
        if delivered_count() >= target:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise SystemExit(f"only {delivered_count()} of {target} deliveries DELIVERED after {timeout:.0f} s")
        time.sleep(0.02)


class CpuSplit(GroupsCpu):
    """CPU used during a phase by the bench's processes (workers with their scheduler children, the
    receiver, this process, the PostgreSQL backends of the bench's database) and by everything else
    on the machine (``foreign``), in jiffies; ``per_event_ms`` divides by the events of the phase."""

    def __init__(self, groups: dict[str, list[int]], database: str) -> None:
        super().__init__(groups, database, own_name="this process")

    def __enter__(self) -> CpuSplit:
        self.begin()
        return self

    def __exit__(self, *exc: object) -> None:
        self.jiffies, busy, total = self.end()
        self.total = max(1, total)
        self.foreign = max(0, busy - sum(self.jiffies.values()))

    def report(self, events: int) -> dict:
        ms = 1000 / os.sysconf("SC_CLK_TCK")
        per = {g: round(j * ms / events, 3) for g, j in self.jiffies.items()}
        return {"cpu_ms_per_event": per, "own_cpu_ms_per_event": round(sum(per.values()), 3),
                "machine_share_foreign": round(self.foreign / self.total, 3),
                "machine_share_own": round(sum(self.jiffies.values()) / self.total, 3)}


def wait_for_workers(n: int, procs: list[subprocess.Popen], logs: Path, timeout: float = 60) -> None:
    """Until ``n`` workers listen on the bench's ``default`` queue."""
    from rq import Worker

    from app.services.platform.queues import queue, redis_connection

    deadline = time.perf_counter() + timeout
    while len(Worker.all(connection=redis_connection(), queue=queue("default"))) < n:
        if any(p.poll() is not None for p in procs) or time.perf_counter() > deadline:
            raise SystemExit(f"the workers did not start: {(logs / 'worker0.log').read_text()[-2000:]}")
        time.sleep(0.2)
    time.sleep(0.5)


def _signed_headers(secret: str, body: bytes, i: int) -> dict[str, str]:
    from app.services.webhooks import sender

    msg_id = f"base_{i}_{secrets.token_hex(6)}"
    stamp = int(time.time())
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "User-Agent": sender.USER_AGENT,
            "webhook-signature": sender.sign(secret, msg_id, stamp, body), "Content-Type": "application/json"}


def _loop_httpx(url: str, secret: str, body: bytes, numbers: range, ready: Callable[[], None]) -> None:
    import httpx

    with httpx.Client(timeout=10, trust_env=False) as client:
        for i in numbers:
            if i == 0:
                ready()
            r = client.post(url, content=body, headers=_signed_headers(secret, body, i))
            if r.status_code != 204:
                raise SystemExit(f"baseline: the receiver answered {r.status_code}")


def _loop_http_client(url: str, secret: str, body: bytes, numbers: range, ready: Callable[[], None]) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        for i in numbers:
            if i == 0:
                ready()
            conn.request("POST", parts.path, body=body, headers=_signed_headers(secret, body, i))
            r = conn.getresponse()
            r.read()
            if r.status != 204:
                raise SystemExit(f"baseline: the receiver answered {r.status}")
    finally:
        conn.close()


def baseline(base_url: str, secret: str, n: int, cpu: CpuSplit, client: str = "http.client",
             connections: int = 1) -> dict:
    """A plain loop of signed POSTs (``sender.sign``, the same body as a delivery) over ONE
    keep-alive connection — or ``connections`` loops at once, each on its own connection, in
    threads of this process — with ``client`` (http.client, as the sender; or httpx). The first
    WARMUP requests of each loop are not timed."""
    from app.services.webhooks.delivery import _body

    body = _body("payment_order.updated", datetime.now(UTC), PAYLOAD)
    url = base_url + "/baseline"
    loop = _loop_http_client if client == "http.client" else _loop_httpx
    per = n // connections
    warm, go = threading.Barrier(connections + 1), threading.Barrier(connections + 1)
    errors: list[BaseException] = []

    def gate() -> None:  # every loop warmed up: wait for the clock to start
        warm.wait()
        go.wait()

    def run() -> None:
        try:
            loop(url, secret, body, range(-WARMUP, per), gate)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            warm.abort()
            go.abort()

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for t in threads:
        t.start()
    try:
        warm.wait()
        cpu.__enter__()
        started = time.perf_counter()
        go.wait()
    except threading.BrokenBarrierError:
        pass
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"baseline ({client}, {connections} connections) failed: {errors[0]!r}")
    seconds = time.perf_counter() - started
    cpu.__exit__()
    n = per * connections
    return {"client": client, "connections": connections, "events": n, "seconds": round(seconds, 3),
            "events_per_second": round(n / seconds, 1), **cpu.report(n)}


def throughput(rcv: str, events: int, workers: int, timeout: float, cpu: CpuSplit) -> dict:
    emit_events(events)
    receiver_reset(rcv)
    before = delivered_count()
    with cpu:
        started = time.perf_counter()
        enqueue_dispatch(workers)
        done = wait_delivered(rcv, events, before + events, timeout)
    seconds = done - started
    stats = receiver_get(rcv, "/stats")
    ok = stats["unique"] == events and stats["bad"] == 0
    return {"events": events, "seconds": round(seconds, 3), "events_per_second": round(events / seconds, 1),
            "receiver": stats, "valid": ok, **cpu.report(events)}


def steady(rcv: str, rate: float, duration: float, tick: float, timeout: float, wake: bool) -> dict:
    """One event per transaction at ``rate``/s for ``duration`` s; a dispatch job every ``tick`` s,
    and one after each commit if ``wake``."""
    from flask import current_app

    from app.extensions import db
    from app.models import OutboxEvent
    from app.services.platform import outbox
    from app.services.platform.unit_of_work import transaction

    receiver_reset(rcv)
    current_app.config["WEBHOOK_WAKE_ON_COMMIT"] = wake
    before = delivered_count()
    ids: list[str] = []
    started = time.perf_counter()
    next_tick = started
    n = int(rate * duration)
    late = 0.0
    for i in range(n):
        due = started + i / rate
        now = time.perf_counter()
        if now >= next_tick:
            enqueue_dispatch()
            next_tick += tick
        if due > now:
            time.sleep(due - now)
        else:
            late = max(late, now - due)
        with transaction():
            ids.append(outbox.emit("payment_order.updated", "payment_order", f"PAYS{i:011d}", PAYLOAD))
    emitted_in = time.perf_counter() - started
    # Keep ticking until every event is delivered.
    deadline = time.perf_counter() + timeout
    while receiver_get(rcv, "/stats")["unique"] < n or delivered_count() < before + n:
        if time.perf_counter() >= next_tick:
            enqueue_dispatch()
            next_tick += tick
        if time.perf_counter() > deadline:
            raise SystemExit("steady: not every event was delivered in time")
        time.sleep(0.05)
    received = receiver_get(rcv, "/dump")
    stats = receiver_get(rcv, "/stats")
    created = {}
    for chunk in range(0, len(ids), 5000):
        created.update(db.session.execute(sa.select(OutboxEvent.event_id, OutboxEvent.created_at)
                                          .where(OutboxEvent.event_id.in_(ids[chunk:chunk + 5000]))).all())
    db.session.rollback()
    lat = sorted((received[i] - created[i].timestamp()) * 1000 for i in ids if i in received)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 1)

    current_app.config["WEBHOOK_WAKE_ON_COMMIT"] = False
    return {"rate": rate, "seconds": duration, "events": n, "emitted_in_s": round(emitted_in, 2),
            "emitter_max_late_ms": round(late * 1000, 1), "tick_s": tick, "wake_on_commit": wake,
            "received": len(lat),
            "receiver": stats, "valid": len(lat) == n and stats["bad"] == 0,
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": round(lat[-1], 1)}


def machine(engine) -> dict:
    with engine.connect() as conn:
        version = conn.execute(sa.text("SHOW server_version")).scalar()
        sync = conn.execute(sa.text("SHOW synchronous_commit")).scalar()
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "postgresql": version,
            "synchronous_commit": sync, "loadavg_before": list(os.getloadavg())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--baseline-events", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8,
                        help="WEBHOOK_CONCURRENCY of the workers (send threads each), and the concurrent baseline's "
                             "connections are workers x concurrency")
    parser.add_argument("--steady-rate", type=float, default=200.0)
    parser.add_argument("--steady-seconds", type=float, default=20.0, help="0: skip the latency run")
    parser.add_argument("--tick", type=float, default=5.0,
                        help="seconds between dispatch_outbox jobs in the latency run (app/jobs/cron.py: 5)")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2"))
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)  # child: the port
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.receiver:
        receiver_main(args.receiver, args.secret)
        return 0

    db_url, db_name = create_database(args.database_url)
    prefix = f"bench-hooks-{secrets.token_hex(3)}-"
    port = free_port()
    rcv = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": args.redis_url, "RQ_QUEUE_PREFIX": prefix,
           "RATELIMIT_KEY_PREFIX": f"{prefix}limits", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
           "RQ_LOG_LEVEL": "WARNING", "LOG_LEVEL": "WARNING", "WEBHOOK_CONCURRENCY": str(args.concurrency)}
    os.environ.update(env)
    children: list[subprocess.Popen] = []
    tmp = tempfile.TemporaryDirectory(prefix="bench-hooks-")
    try:
        from app import create_app
        from app.extensions import db

        app = create_app({"WEBHOOK_WAKE_ON_COMMIT": False})  # on only in the steady run that says so
        ctx = app.app_context()
        ctx.push()
        info = machine(db.engine)
        secret = prepare(env, rcv + "/hook")
        receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port), "--secret", secret],
                                    cwd=ROOT, stdout=subprocess.PIPE, text=True)
        children.append(receiver)
        if receiver.stdout is None or receiver.stdout.readline().strip() != "ready":
            raise SystemExit("the receiver did not start")
        for i in range(args.workers):
            children.append(subprocess.Popen(
                [sys.executable, "worker.py", "--queues", "default"], cwd=ROOT, env=env,
                stdout=open(Path(tmp.name) / f"worker{i}.log", "w"), stderr=subprocess.STDOUT))
        wait_for_workers(args.workers, children[1:], Path(tmp.name))
        log(f"receiver {rcv} (verifies signatures), {args.workers} worker(s), prefix {prefix}, database {db_name}")

        def split() -> CpuSplit:
            return CpuSplit({"workers": [c.pid for c in children[1:]], "receiver": [receiver.pid]}, db_name)

        concurrency = args.workers * args.concurrency
        kinds = {"one": ("http.client", 1), "httpx": ("httpx", 1), "concurrent": ("http.client", concurrency)}

        def baselines(when: str) -> dict[str, dict]:
            runs = {}
            for kind, (client, conns) in kinds.items():
                runs[kind] = baseline(rcv, secret, args.baseline_events, split(), client, conns)
                log(f"baseline {when}, {client}, {conns} keep-alive connection(s), signed POSTs: {runs[kind]}")
            return runs

        before = baselines("before")
        run = throughput(rcv, args.events, args.workers, args.timeout, split())
        log(f"delivery ({args.workers} workers x {args.concurrency} send threads, dispatch_outbox): {run}")
        after = baselines("after")
        mean = {kind: round((before[kind]["events_per_second"] + after[kind]["events_per_second"]) / 2, 1)
                for kind in kinds}
        base_eps = mean["one"]
        steady_run = tick_only = None
        if args.steady_seconds > 0:
            steady_run = steady(rcv, args.steady_rate, args.steady_seconds, args.tick, args.timeout, wake=True)
            log(f"steady {args.steady_rate:g}/s for {args.steady_seconds:g} s, tick {args.tick:g} s, "
                f"woken after each commit: {steady_run}")
            tick_only = steady(rcv, args.steady_rate, args.steady_seconds, args.tick, args.timeout, wake=False)
            log(f"steady {args.steady_rate:g}/s for {args.steady_seconds:g} s, tick {args.tick:g} s only: {tick_only}")
        info["loadavg_after"] = list(os.getloadavg())
        results = {
            "events": run["events"], "seconds": run["seconds"], "events_per_second": run["events_per_second"],
            "baseline_events_per_second": base_eps,
            "ratio_to_baseline": round(run["events_per_second"] / base_eps, 3),
            "baseline_httpx_events_per_second": mean["httpx"],
            "ratio_to_httpx_baseline": round(run["events_per_second"] / mean["httpx"], 3),
            "baseline_concurrent_events_per_second": mean["concurrent"],
            "baseline_concurrent_connections": concurrency,
            "ratio_to_concurrent_baseline": round(run["events_per_second"] / mean["concurrent"], 3),
            "target_events_per_second": TARGET_EPS, "target_met": run["events_per_second"] >= TARGET_EPS,
            "steady_rate": args.steady_rate if steady_run else None,
            "p50_ms": steady_run["p50_ms"] if steady_run else None,
            "p99_ms": steady_run["p99_ms"] if steady_run else None,
            "tick_only_p50_ms": tick_only["p50_ms"] if tick_only else None,
            "tick_only_p99_ms": tick_only["p99_ms"] if tick_only else None,
            "workers": args.workers, "database": f"postgresql {info['postgresql']}",
            "receiver": "ThreadingHTTPServer, HTTP/1.1 keep-alive, verifies every Standard Webhooks signature, 204",
            "delivery": run, "baseline_runs": {"before": before, "after": after}, "steady": steady_run,
            "steady_tick_only": tick_only,
            "valid": run["valid"] and all(r is None or r["valid"] for r in (steady_run, tick_only)),
            "machine": info, "when": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "webhooks.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        log(json.dumps({k: results[k] for k in ("events", "seconds", "events_per_second",
                                                 "baseline_events_per_second", "ratio_to_baseline",
                                                 "baseline_httpx_events_per_second",
                                                 "baseline_concurrent_events_per_second",
                                                 "ratio_to_concurrent_baseline", "steady_rate",
                                                 "p50_ms", "p99_ms", "tick_only_p99_ms", "workers", "database",
                                                 "valid")}))
        if not results["valid"]:
            log("!! INVALID: the receiver did not see every event exactly once with a valid signature")
            return 1
        return 0
    finally:
        stop_processes(children)
        empty_queues_and_disconnect()
        drop_or_keep_database(args.database_url, db_name, args.keep_db)
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
