"""Benchmark: the portal's HTTP throughput and latency on PostgreSQL, per HTTP server.

    .venv/bin/python bench/create_order.py [--duration 15] [--connections 8] [--workers 3] [--rounds 1]
                                           [--servers gunicorn-sync,gunicorn-gthread,granian]
                                           [--targets bare,naive,create,status,list,callback]
                                           [--database-url postgresql://postgres@127.0.0.1:5432/test]

What it does (see bench/README.md):

1. creates a fresh database ``portal_bench_<random>`` on the server of ``--database-url``
   (default: $BENCH_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/test), runs
   ``flask db upgrade`` on it, creates reseller R1001 and an API client with scope ``payments``;
2. starts each server of ``--servers`` (bench/servers.py; one port each, all serving
   ``bench.wsgi:app``: the real portal and, under /baseline, the baselines);
3. warms every target up, then drives each for the same duration with the same number of
   concurrent connections (closed loop, keep-alive where the server allows it; gunicorn's sync
   workers close after each answer) from a second process (wrk + bench/wrk_create.lua or
   bench/wrk_requests.lua, or the Python load generator bench/loadgen.py when wrk is absent for
   bare/naive/create), server after server and target after target in each round: bare, naive,
   create, status (the API's status query of a paid order), list (a signed-in reseller's order
   list page), callback (a signed ONLINE callback redelivered for a settled merged payment);
4. checks every answer (any unexpected status or socket error makes the run invalid: it says
   so loudly and exits 1), checks in the database that each 201 left exactly one order with its
   idempotency key, audit entry, outbox event and status-log row;
5. prints requests/s, p50/p99 and the ratios, writes bench/results/create.json, drops the
   database (unless --keep-db).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import servers as http_servers  # noqa: E402
from bench.online_payments import CALLBACK_PATH  # noqa: E402

BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent
CREATE_PATH = "/api/v1/integration/payment/create"
TARGETS = {
    # name: (path, expected status)
    "bare": ("/baseline/bare", 200),
    "naive": ("/baseline/naive", 201),
    "create": (CREATE_PATH, 201),
    "status": ("/api/v1/integration/payment/<paid order>/status", 200),
    "list": ("/orders (signed in as R1002's operator)", 200),
    "callback": (CALLBACK_PATH, 200),
}
FILE_TARGETS = ("status", "list", "callback")  # driven by bench/wrk_requests.lua

# Defaults chosen on a 2-core machine (bench/README.md, "Choosing the gunicorn setup").
DEFAULT_WORKERS = 3
# The list and callback targets' reseller: 20 merged ONLINE payments of 10 orders, all paid.
LIST_RESELLER = "R1002"
LIST_EMAIL, LIST_PASSWORD = "operator@r1002.example", "bench-password-r1002"
PAID_PAYMENTS = 20


def log(msg: str = "") -> None:
    print(msg, flush=True)


def loud(msg: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}\n!! {msg}\n{bar}\n", file=sys.stderr, flush=True)


def sa_url(url: str) -> sa.engine.URL:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    elif url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    return sa.engine.make_url(url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- database -----------------------------------------------------------------------------------

def create_database(base_url: str) -> tuple[str, str]:
    url = sa_url(base_url)
    name = f"portal_bench_{secrets.token_hex(5)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def drop_database(base_url: str, name: str) -> None:
    admin = sa.create_engine(sa_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def drop_or_keep_database(base_url: str, name: str, keep: bool) -> None:
    """The end of a run: its database dropped, or kept (``--keep-db``) and named."""
    if keep:
        log(f"kept database {name}")
    else:
        drop_database(base_url, name)


def stop_processes(procs: list[subprocess.Popen], timeout: float = 20) -> None:
    """SIGTERM to each, then SIGKILL to any still running ``timeout`` s later."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()


def empty_queues_and_disconnect() -> None:
    """The end of a run with RQ workers: the run's queues emptied and this process's database
    connections closed; a failure is shown, not raised (the database is dropped next)."""
    try:
        from app.extensions import db
        from app.services.platform.queues import all_queues

        for q in all_queues():
            q.empty()
        db.session.remove()
        db.engine.dispose()
    except Exception as exc:  # noqa: BLE001
        log(f"cleanup: {exc}")


def write_results(out: dict, output: str, valid: bool) -> Path:
    """The run's figures as JSON at ``output`` (``.invalid.json`` instead when a check failed)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = Path(output)
    if not valid:
        path = path.with_suffix(".invalid.json")
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    log(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def prepare(env: dict, online: bool = False) -> dict:
    """Migrate, create R1001 and an API client (scope payments) and the naive table; with ``online``
    (the status, list and callback targets) also R1002 with a signed-in operator and PAID_PAYMENTS
    merged ONLINE payments of 10 orders each, made through the real services on a sandbox gateway
    (stopped after) and settled by one signed callback each. Returns what the targets need."""
    subprocess.run([str(VENV_BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.environ.update(env)
    from app import create_app
    from app.extensions import db
    from app.services.accounts import api_clients, resellers
    from app.services.platform.actor import Actor
    from bench.baseline_app import create_baseline_app

    actor = Actor(type="system", id="bench")
    app = create_app({"LOGIN_RATE_LIMIT": "100000 per minute"})
    with app.app_context():
        resellers.upsert_reseller(actor, "R1001", resellers.ResellerChanges(name="Bench Reseller R1001"))
        _, key = api_clients.create_client(actor, "bench", api_clients.parse_scopes("payments"))
        db.session.remove()
    prep: dict = {"key": key}
    if online:
        prep.update(prepare_online(app))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    create_baseline_app(env["DATABASE_URL"])  # creates bench_naive_orders
    return prep


def prepare_online(app) -> dict:
    from app.extensions import db
    from app.services.accounts import resellers
    from app.services.accounts.users import create_user
    from app.services.platform.actor import Actor
    from bench import online_payments
    from sandbox.testing import start_sandbox

    actor = Actor(type="system", id="bench")
    gateway = start_sandbox()
    try:
        with app.app_context():
            resellers.upsert_reseller(actor, LIST_RESELLER, resellers.ResellerChanges(name="Bench Reseller R1002"))
            create_user(actor, LIST_EMAIL, LIST_PASSWORD, "reseller_operator", LIST_RESELLER)
            db.session.commit()
            online_payments.add_online_channel(gateway.base_url)
            paid = online_payments.make_merged_payments(LIST_RESELLER, PAID_PAYMENTS, 10, "100.00", "PAID")
    finally:
        gateway.stop()
    client = app.test_client()
    for p in paid:
        body, sig = online_payments.callback_request(p, f"ev-settle-{p.channel_payment_no}")
        r = client.post(CALLBACK_PATH, data=body, headers={"Content-Type": "application/json",
                                                           "X-Gateway-Signature": sig})
        assert r.status_code == 200 and r.get_data() == b"success", r.get_data()[:300]
    page = client.get("/login")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    signed = client.post("/login", data={"email": LIST_EMAIL, "password": LIST_PASSWORD, "csrf_token": token})
    assert signed.status_code == 302, signed.get_data(as_text=True)[:500]
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(cookie_name)
    assert cookie is not None
    assert client.get("/orders").status_code == 200
    return {"paid": paid, "cookie": f"{cookie_name}={cookie.value}",
            "status_path": f"/api/v1/integration/payment/{paid[0].payment_ids[0]}/status"}


def write_target_requests(target: str, prep: dict, path: Path, tag: str, count: int) -> None:
    """The requests file of a status, list or callback run (bench/wrk_requests.lua). Callbacks are
    signed now (the signature is valid for 5 minutes) with event ids of their own: each one is
    verified, the channel payment locked, the event recorded, and answered 'success' (the payment is
    settled already: a redelivery)."""
    from bench import online_payments

    if target == "status":
        rows = [("GET", prep["status_path"], b"", {"Authorization": f"Bearer {prep['key']}"})]
    elif target == "list":
        rows = [("GET", "/orders", b"", {"Cookie": prep["cookie"]})]
    else:
        rows = []
        paid = prep["paid"]
        for i in range(count):
            body, sig = online_payments.callback_request(paid[i % len(paid)], f"ev-{tag}-{i}")
            rows.append(("POST", CALLBACK_PATH, body, {"Content-Type": "application/json",
                                                       "X-Gateway-Signature": sig}))
    online_payments.write_requests_file(path, rows)


CHECK_SQL = {
    "payment_orders": "SELECT count(*) FROM payment_orders",
    "idempotency_keys": "SELECT count(*) FROM idempotency_keys WHERE operation = 'payment_order.create'",
    "audit_log": "SELECT count(*) FROM audit_log WHERE action = 'payment_order.create'",
    "outbox_events": "SELECT count(*) FROM outbox_events WHERE event_type = 'payment_order.created'",
    "status_log": "SELECT count(*) FROM status_log WHERE reason = 'created' AND to_status = 'UNPAID'",
}
# The orders of the create runs (the load generators send orderIds "SO-<run>-..."), not the prepared ones.
MISSING_SQL = {
    "idempotency_keys": """SELECT count(*) FROM payment_orders o WHERE o.order_id LIKE 'SO-%' AND NOT EXISTS (
        SELECT 1 FROM idempotency_keys k WHERE k.operation = 'payment_order.create'
        AND k.resource_id = o.payment_id AND k.response_code = 201 AND k.client_id = o.created_by_client_id)""",
    "audit_log": """SELECT count(*) FROM payment_orders o WHERE o.order_id LIKE 'SO-%' AND NOT EXISTS (
        SELECT 1 FROM audit_log a WHERE a.action = 'payment_order.create' AND a.target_type = 'payment_order'
        AND a.target_id = o.payment_id)""",
    "outbox_events": """SELECT count(*) FROM payment_orders o WHERE o.order_id LIKE 'SO-%' AND NOT EXISTS (
        SELECT 1 FROM outbox_events e WHERE e.event_type = 'payment_order.created'
        AND e.aggregate_id = o.payment_id)""",
    "status_log": """SELECT count(*) FROM payment_orders o WHERE o.order_id LIKE 'SO-%' AND NOT EXISTS (
        SELECT 1 FROM status_log s WHERE s.payment_order_id = o.id AND s.to_status = 'UNPAID')""",
}


def db_counts(engine) -> dict:
    with engine.connect() as conn:
        return {k: conn.execute(sa.text(q)).scalar_one() for k, q in CHECK_SQL.items()}


def verify_writes(engine, before: dict, answered: int, in_flight: int) -> bool:
    """Each 201 must have left one order with its idempotency key, audit entry, outbox event and
    status-log row. The load generator stops at its deadline with up to one request per connection
    sent but not yet answered; the server still completes those, so up to ``in_flight`` more orders
    than 201 answers is right (all tables must still agree)."""
    after = db_counts(engine)
    with engine.connect() as conn:
        missing = {k: conn.execute(sa.text(q)).scalar_one() for k, q in MISSING_SQL.items()}
        dup_keys = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT order_id FROM payment_orders GROUP BY order_id HAVING count(*) > 1) d"
        )).scalar_one()
    deltas = {k: after[k] - before[k] for k in CHECK_SQL}
    orders = deltas["payment_orders"]
    log(f"Database check of the create run: {answered} answers 201, {in_flight} requests in flight when the "
        f"load generator stopped")
    ok = answered <= orders <= answered + in_flight
    log(f"  {'payment_orders':<17} +{orders:<8} {'ok' if ok else 'MISMATCH'} "
        f"(= {answered} answered 201 + {orders - answered} completed after the deadline)")
    for k in CHECK_SQL:
        if k == "payment_orders":
            continue
        good = deltas[k] == orders and missing[k] == 0
        ok &= good
        log(f"  {k:<17} +{deltas[k]:<8} {'ok' if good else 'MISMATCH'} (orders without one: {missing[k]})")
    if dup_keys:
        ok = False
        log(f"  {dup_keys} orderIds have more than one order: MISMATCH")
    return ok


# --- the machine's other load ----------------------------------------------------------------------
# The figures only mean something on an otherwise idle machine: every run records how much CPU
# processes other than this benchmark's (gunicorn, the load generator, the database's backends of
# the benchmark database) used meanwhile, and waits for a quiet machine before it starts.

def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


def _proc_jiffies(pid: int) -> int:
    try:
        parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _children(p)
    return pids


def _pids_named(*names: str) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() in names:
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def wait_for_quiet(max_wait: float, busy_limit: float = 0.15) -> float:
    """Wait (at most max_wait s) until the machine is at most busy_limit busy over one second;
    returns the last busy fraction seen."""
    deadline = time.time() + max_wait
    while True:
        b0, t0 = _cpu_times()
        time.sleep(1.0)
        b1, t1 = _cpu_times()
        busy = (b1 - b0) / max(1, t1 - t0)
        if busy <= busy_limit or time.time() >= deadline:
            return busy


class ForeignLoad:
    """CPU used during a run: by the benchmark's own processes, per group (gunicorn, postgres, redis,
    the load generator), and by everything else (``foreign``), as shares of the machine."""

    def __init__(self, groups_fn):
        self.groups_fn = groups_fn  # () -> {group: [pid, ...]}

    @staticmethod
    def _reaped_children() -> float:
        """CPU jiffies of this process's children that have exited (the load generator)."""
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (ru.ru_utime + ru.ru_stime) * os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        self.groups = {g: set(pids) for g, pids in self.groups_fn().items()}
        self.start = {p: _proc_jiffies(p) for pids in self.groups.values() for p in pids}
        self.reaped0 = self._reaped_children()
        self.busy0, self.total0 = _cpu_times()
        return self

    def __exit__(self, *exc):
        busy1, total1 = _cpu_times()
        for g, pids in self.groups_fn().items():  # started during the run (e.g. new database sessions)
            self.groups.setdefault(g, set()).update(pids)
        self.jiffies = {
            g: sum(max(0, _proc_jiffies(p) - self.start.get(p, 0)) for p in pids if Path(f"/proc/{p}").exists())
            for g, pids in self.groups.items()
        }
        self.jiffies["load generator"] = self._reaped_children() - self.reaped0
        total = max(1, total1 - self.total0)
        self.machine_busy = (busy1 - self.busy0) / total
        self.own = sum(self.jiffies.values()) / total
        self.foreign = max(0.0, self.machine_busy - self.own)
        return False


class GroupsCpu:
    """CPU jiffies, between begin() and end(), of process groups (each pid with its children), of this
    process (as ``own_name``) and of the PostgreSQL backends of ``database``, and the machine's busy
    and total jiffies: bench/batch_payout.py's and bench/webhooks.py's split of a phase's CPU.
    A process that starts meanwhile counts from zero."""

    def __init__(self, groups: dict[str, list[int]], database: str, own_name: str) -> None:
        self.groups, self.database, self.own_name = groups, database, own_name

    def _pids(self) -> dict[str, set[int]]:
        from app.extensions import db

        found = {g: {q for p in pids for q in _tree(p)} for g, pids in self.groups.items()}
        found[self.own_name] = {os.getpid()}
        found["postgres"] = set(db.session.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": self.database}))
        db.session.rollback()
        return found

    def begin(self) -> None:
        self.pids = self._pids()
        self.start_jiffies = {p: _proc_jiffies(p) for pids in self.pids.values() for p in pids}
        self.busy0, self.total0 = _cpu_times()

    def end(self) -> tuple[dict[str, int], int, int]:
        """Jiffies per group, and the machine's busy and total jiffies, since begin()."""
        busy1, total1 = _cpu_times()
        for g, pids in self._pids().items():
            self.pids[g] |= pids
        jiffies = {g: sum(max(0, _proc_jiffies(p) - self.start_jiffies.get(p, 0)) for p in pids)
                   for g, pids in self.pids.items()}
        return jiffies, busy1 - self.busy0, total1 - self.total0


# --- load ----------------------------------------------------------------------------------------

def drive(driver: str, base: str, target: str, key: str, prefix: str, connections: int, duration: float,
          wrk_threads: int, server_pids=dict, requests_file: Path | None = None) -> dict:
    path, expected = TARGETS[target]
    threads = min(wrk_threads, connections)
    if requests_file is not None:
        if driver == "wrk":
            cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", "5s",
                   "-s", str(BENCH / "wrk_requests.lua"), base, "--", str(requests_file), str(expected), str(threads)]
        else:
            cmd = [sys.executable, "-m", "bench.loadgen", "--url", base, "--requests-file", str(requests_file),
                   "--cycle", "--expected", str(expected), "--connections", str(connections),
                   "--duration", f"{duration:g}"]
    elif driver == "wrk":
        cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
               "--timeout", "5s", "-s", str(BENCH / "wrk_create.lua"), base, "--", path, key, prefix, str(expected)]
    else:
        cmd = [sys.executable, "-m", "bench.loadgen", "--url", base, "--path", path, "--token", key,
               "--prefix", prefix, "--expected", str(expected), "--connections", str(connections),
               "--duration", f"{duration:g}"]
    with ForeignLoad(server_pids) as load:
        gen = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = gen.communicate()
    m = re.search(r"^WRK_RESULT (.*)$", stdout, re.M)
    if gen.returncode != 0 or not m:
        raise RuntimeError(f"load generator failed ({gen.returncode}):\n{stdout}\n{stderr}")
    r = json.loads(m.group(1))
    r["machine_busy"] = round(load.machine_busy, 3)
    r["foreign_cpu"] = round(load.foreign, 3)
    tick = os.sysconf("SC_CLK_TCK")
    r["cpu_ms_per_request"] = {g: round(j / tick * 1000 / max(1, r["requests"]), 3) for g, j in load.jiffies.items()}
    se = r["socket_errors"]
    r["errors"] = r["bad"] + se["connect"] + se["read"] + se["write"] + se["timeout"]
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["p50_ms"] = r["p50_us"] / 1000
    r["p99_ms"] = r["p99_us"] / 1000
    return r


def cpu_model() -> str:
    """The processor's model name (/proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def machine_info(engine, driver: str) -> dict:
    with engine.connect() as conn:
        pg = conn.execute(sa.text("SHOW server_version")).scalar_one()
        sync = conn.execute(sa.text("SHOW synchronous_commit")).scalar_one()
    from importlib.metadata import PackageNotFoundError, version

    info = {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "python": platform.python_version(),
            "postgresql": pg, "synchronous_commit": sync, "flask": version("flask"),
            "kernel": platform.release(), "load_generator": driver, "uptime_load": os.getloadavg()}
    for package in ("gunicorn", "granian"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = None
    if driver == "wrk":
        v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        info["wrk"] = (v.stdout or v.stderr).splitlines()[0] if (v.stdout or v.stderr) else "wrk"
    return info


# --- main ----------------------------------------------------------------------------------------

def summary_of(results: dict) -> dict:
    """The create benchmark's historical figures (create vs the baselines) of one server's results."""
    out: dict = {}
    if "create" in results:
        c = results["create"]
        out = {"rps": round(c["rps"], 1), "p50_ms": round(c["p50_ms"], 2), "p99_ms": round(c["p99_ms"], 2),
               "create_p90_ms": round(c["p90_us"] / 1000, 2)}
    for t in ("naive", "bare"):
        if t in results:
            out[f"{t}_rps"] = round(results[t]["rps"], 1)
    if "create" in results and "naive" in results:
        out["ratio_to_naive"] = round(results["create"]["rps"] / results["naive"]["rps"], 3)
    if "create" in results and "bare" in results:
        out["ratio_to_bare"] = round(results["create"]["rps"] / results["bare"]["rps"], 3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=15, help="seconds per target (default 15)")
    ap.add_argument("--connections", type=int, default=8, help="concurrent keep-alive clients (default 8)")
    ap.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                    help=f"worker processes of every server (default {DEFAULT_WORKERS})")
    ap.add_argument("--servers", default="gunicorn-sync",
                    help="comma list of " + ",".join(http_servers.SERVERS) + " (bench/servers.py; default "
                         "gunicorn-sync); all run side by side and are driven in turn, round after round")
    ap.add_argument("--warmup", type=float, default=3, help="warm-up seconds per target (default 3)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the targets this many times, interleaved, and report each one's median (default 1)")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"),
                    help="server to create the benchmark database on (its database name is ignored)")
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
                    help="Redis of the rate limiter and the sessions (default redis://127.0.0.1:6379/14)")
    ap.add_argument("--driver", choices=["auto", "wrk", "python"], default="auto",
                    help="load generator: wrk if installed (auto), else the Python one")
    ap.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1: leave the cores to the server)")
    ap.add_argument("--targets", default="bare,naive,create",
                    help="comma list of " + ",".join(TARGETS) + " (default bare,naive,create)")
    ap.add_argument("--callback-lines", type=int, default=20000,
                    help="signed callbacks prepared per callback run (each sent once unless the run outpaces them)")
    ap.add_argument("--output", default=str(RESULTS / "create.json"))
    ap.add_argument("--quiet-wait", type=float, default=120,
                    help="before each run, wait up to this many seconds for the machine to be idle (default 120)")
    ap.add_argument("--max-foreign", type=float, default=0.10,
                    help="warn when other processes use more than this share of the machine in a run (0.10)")
    ap.add_argument("--keep-db", action="store_true", help="do not drop the benchmark database")
    ap.add_argument("--check-target", action="store_true",
                    help="exit 2 unless ratio_to_naive >= 2.0 and create p99 < 50 ms (first server)")
    args = ap.parse_args(argv)

    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        ap.error(f"unknown targets: {', '.join(sorted(unknown))}")
    server_names = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(server_names) - set(http_servers.SERVERS)
    if unknown or not server_names:
        ap.error(f"unknown servers: {', '.join(sorted(unknown))}")
    specs = [dataclasses.replace(http_servers.SERVERS[n], workers=args.workers) for n in server_names]
    driver = args.driver
    if driver == "auto":
        driver = "wrk" if shutil.which("wrk") else "python"
    if driver == "wrk" and not shutil.which("wrk"):
        ap.error("wrk is not installed (apt-get install wrk), use --driver python")

    from cryptography.fernet import Fernet

    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    (tmp / "instance").mkdir()
    (tmp / "prom").mkdir()
    db_url, db_name = create_database(args.database_url)
    log(f"database: {db_name}  (driver: {driver}; uptime load {os.getloadavg()[0]:.2f} "
        f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f})")
    env = {
        **os.environ,
        "FLASK_APP": "app",
        "DATABASE_URL": db_url,
        "INSTANCE_PATH": str(tmp / "instance"),
        "SECRET_KEY": secrets.token_hex(32),
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "REDIS_URL": args.redis_url,
        # The production rate limiter stays on (one Redis round trip per API request), with a limit
        # the benchmark cannot reach: it measures the create path, not the limiter refusing.
        "API_RATE_LIMIT": "10000000 per minute",
        # As in production: metrics of all workers add up.
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom"),
        "PYTHONPATH": str(ROOT),
    }
    engine = sa.create_engine(sa_url(db_url))
    running: list[http_servers.Server] = []
    status = 0
    try:
        prep = prepare(env, online=bool(set(targets) & set(FILE_TARGETS)))
        key = prep["key"]
        for spec in specs:
            srv = http_servers.Server(spec, "bench.wsgi:app", free_port(), env, tmp / f"{spec.name}.log")
            log(f"{spec.name}: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(srv.cmd))}")
            running.append(srv)
        run_id = secrets.token_hex(3)
        requests_file = tmp / "requests.tsv"

        def file_for(t: str, tag: str) -> Path | None:
            if t not in FILE_TARGETS:
                return None
            write_target_requests(t, prep, requests_file, tag, args.callback_lines)
            return requests_file

        log(f"warm-up: {args.warmup:g} s per target and server")
        for srv in running:
            for t in targets:
                w = drive(driver, srv.base, t, key, f"w{run_id}{srv.spec.name[-2:]}{t[0]}", args.connections,
                          args.warmup, args.wrk_threads, requests_file=file_for(t, f"w{run_id}{srv.spec.name}"))
                if w["errors"]:
                    loud(f"WARM-UP OF {t} ON {srv.spec.name} HAD {w['errors']} ERRORS: first "
                         f"{w['first_bad_status']} {w['first_bad_body']}")
                    return 1

        def pids_of(srv):
            def server_pids():
                """the server's processes, the database server (but not its sessions on other databases), Redis."""
                with engine.connect() as conn:
                    others = {r[0] for r in conn.execute(sa.text(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE datname IS NOT NULL AND datname <> current_database()"))}
                return {"server": _tree(srv.pid),
                        "postgres": [p for p in _pids_named("postgres") if p not in others],
                        "redis": _pids_named("redis-server")}
            return server_pids

        runs: dict[str, dict[str, list[dict]]] = {s.spec.name: {t: [] for t in targets} for s in running}
        verified = True
        for rnd in range(1, args.rounds + 1):
            order = running[(rnd - 1) % len(running):] + running[:(rnd - 1) % len(running)]
            for srv in order:
                name = srv.spec.name
                for t in targets:
                    rf = file_for(t, f"m{run_id}{name}{rnd}")
                    busy = wait_for_quiet(args.quiet_wait)
                    log(f"run: {name} {t} ({TARGETS[t][0]}), {args.connections} connections, {args.duration:g} s"
                        + (f", round {rnd}/{args.rounds}" if args.rounds > 1 else "")
                        + f"  (machine {busy:.0%} busy before)")
                    before = db_counts(engine) if t == "create" else None
                    r = drive(driver, srv.base, t, key, f"m{run_id}{rnd}{name[-2:]}{t[0]}", args.connections,
                              args.duration, args.wrk_threads, pids_of(srv), requests_file=rf)
                    r["round"] = rnd
                    runs[name][t].append(r)
                    if r["foreign_cpu"] > args.max_foreign:
                        loud(f"NOISY: other processes used {r['foreign_cpu']:.0%} of the machine during the "
                             f"{name} {t} run; its figures are low by about that much")
                    if r["errors"]:
                        loud(f"INVALID: {name} {t} had {r['errors']} errors ({r['bad']} unexpected statuses, "
                             f"socket errors {r['socket_errors']}); first: {r['first_bad_status']} "
                             f"{r['first_bad_body']}")
                        status = 1
                    if t == "callback" and r["requests"] > args.callback_lines:
                        log(f"  (the run sent {r['requests']} callbacks for {args.callback_lines} prepared: "
                            f"the rest were duplicates of an event id, answered 200 as well)")
                    if t == "create":
                        time.sleep(0.5)
                        ok = verify_writes(engine, before, r["ok"], max(0, r["sent"] - r["ok"] - r["bad"]))
                        if not ok:
                            loud("INVALID: the database does not hold exactly one order with its idempotency "
                                 "key, audit entry, outbox event and status-log row per 201")
                            status = 1
                        verified &= ok
        # With several rounds, each target is represented by its median round (by requests/s).
        results = {s: {t: sorted(rs, key=lambda r: r["rps"])[(len(rs) - 1) // 2] for t, rs in per.items()}
                   for s, per in runs.items()}
        if args.rounds > 1:
            log("")
            log("rounds:")
            for s, per in runs.items():
                for t, rs in per.items():
                    for r in rs:
                        log(f"  {s:<17} {t:<8} round {r['round']}: {r['rps']:>7.0f} req/s  p50 {r['p50_ms']:6.2f}  "
                            f"p99 {r['p99_ms']:6.2f} ms  other CPU {r['foreign_cpu']:.0%}"
                            + ("   <- median" if r is results[s][t] else ""))
        log("")
        log(f"{args.connections} connections; {args.duration:g} s per target"
            + (f" x {args.rounds} rounds (median shown)" if args.rounds > 1 else "")
            + f"; {os.cpu_count()} CPUs; {driver}; uptime load {os.getloadavg()[0]:.2f}")
        for srv in running:
            s = srv.spec.name
            log(f"{s}: {srv.spec.describe()}")
            log(f"  {'target':<8} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
                f"{'requests':>9} {'errors':>7} {'CPU busy':>9} {'other CPU':>10}   CPU ms/req server+pg+redis+loadgen")
            for t, r in results[s].items():
                c = r["cpu_ms_per_request"]
                log(f"  {t:<8} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} {r['p90_us'] / 1000:>8.2f} {r['p99_ms']:>8.2f} "
                    f"{r['max_us'] / 1000:>8.2f} {r['requests']:>9} {r['errors']:>7} {r['machine_busy']:>9.0%} "
                    f"{r['foreign_cpu']:>10.0%}   " + " + ".join(f"{c.get(g, 0):.2f}" for g in
                                                              ("server", "postgres", "redis", "load generator"))
                    + f" = {sum(c.values()):.2f}")
        if len(running) > 1:
            first = running[0].spec.name
            log("")
            log(f"req/s relative to {first} (same run):")
            log(f"  {'target':<8} " + " ".join(f"{s.spec.name:>17}" for s in running))
            for t in targets:
                base_rps = results[first][t]["rps"]
                log(f"  {t:<8} " + " ".join(f"{results[s.spec.name][t]['rps'] / base_rps:>16.2f}x" for s in running))
        out: dict = summary_of(results[running[0].spec.name])
        log("")
        if "ratio_to_naive" in out:
            log(f"{running[0].spec.name}: create / naive = {out['ratio_to_naive']:.2f}x   (target >= 2.0), "
                f"create p99 = {out['p99_ms']:.1f} ms (target < 50 ms)")
        per_server = {}
        for srv in running:
            s = srv.spec.name
            per_server[s] = {
                "command": srv.spec.describe(),
                "summary": summary_of(results[s]),
                "targets": {t: {"rps": round(r["rps"], 1), "p50_ms": round(r["p50_ms"], 2),
                                "p90_ms": round(r["p90_us"] / 1000, 2), "p99_ms": round(r["p99_ms"], 2),
                                "max_ms": round(r["max_us"] / 1000, 2), "requests": r["requests"],
                                "errors": r["errors"], "cpu_busy": r["machine_busy"], "other_cpu": r["foreign_cpu"],
                                "cpu_ms_per_request": r["cpu_ms_per_request"]}
                            for t, r in results[s].items()},
                "rounds_rps": {t: [round(r["rps"], 1) for r in rs] for t, rs in runs[s].items()},
            }
        out.update({
            "servers": per_server,
            "server_order": [s.spec.name for s in running],
            "targets": targets,
            "rounds": args.rounds,
            "noisy": any(r["foreign_cpu"] > args.max_foreign for per in results.values() for r in per.values()),
            "errors": sum(r["errors"] for per in results.values() for r in per.values()),
            "db_check_ok": verified if "create" in targets else None,
            "valid": status == 0,
            "workers": args.workers,
            "connections": args.connections, "duration_s": args.duration, "warmup_s": args.warmup,
            "machine": machine_info(engine, driver),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        target_met = out.get("ratio_to_naive", 0) >= 2.0 and out.get("p99_ms", 1e9) < 50
        out["target_met"] = target_met
        write_results(out, args.output, valid=status == 0)
        if status == 0 and args.check_target and not target_met:
            status = 2
        return status
    finally:
        for srv in running:
            srv.stop()
        engine.dispose()
        drop_or_keep_database(args.database_url, db_name, args.keep_db)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
