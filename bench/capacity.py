"""Benchmark: what one request of each kind costs each part of the portal — CPU of the web workers,
the PostgreSQL backends, Redis and the RQ workers, WAL and rows written, connections held — the
figures docs/CAPACITY.md sizes a deployment from.

    .venv/bin/python bench/capacity.py [--scale 1.0] [--port-base 9200]
                                       [--database-url postgresql://postgres@127.0.0.1:5432/test]
                                       [--redis-url redis://127.0.0.1:6379/4] [--keep-db]

What it does (bench/README.md, "Capacity"):

1. the portal as production runs it, on a throw-away database (``portal_bench_<random>``, migrated):
   gunicorn ``-w 3 -k sync`` (bench/load_mix.py's server), one general RQ worker and one niced
   documents worker (as scripts/run, but the general one leaves the PDFs to the other, so that
   their CPU is counted apart), the sandbox gateway (ONLINE pay pages), a webhook receiver
   that verifies every signature (bench/webhooks.py's) registered for every event type, and a mail
   catcher as SMTP server, so every job a request causes runs for real: outbox → webhook delivery,
   receipt PDFs, notification mails. The scheduler does not run during the phases (its ticks are
   time-driven, not request-driven); the audit chain is sealed after each phase by this process
   (``audit.log.seal``, what the 10 s tick runs) and its cost shown apart;
2. seeds as bench/load_mix.py (8 resellers with funded wallets and signed-in operators, WALLET and
   ONLINE channels, an API client);
3. one phase per request kind, a fixed number of requests each, sent open-loop at a modest rate by
   bench/mix_traffic.py's generator (in this process: its CPU is not counted): create, status,
   list_api, list_page, checkout_wallet, checkout_online (it makes the payments the callbacks
   settle), callback, refund; then the default mix of load_mix twice (the key figure, repeated);
4. per phase, from before the first request until every job it caused is done (queues empty,
   outbox fanned out and delivered, documents READY, mails sent): CPU time from /proc of the gunicorn
   processes, this database's backends (pg_stat_activity; this bench's own connections excluded),
   the workers, redis-server and PostgreSQL's auxiliary processes (both shared with the machine:
   their CPU during the idle second half of each phase's pause is subtracted as a baseline;
   ``--private-redis`` starts a redis-server of the bench's own instead, counted whole); WAL from
   pg_current_wal_lsn (the whole server) and from pg_waldump attributed to this database's relations
   and transactions, by table (a temporary replication slot keeps the phase's WAL until it is read);
   rows inserted/updated per table (pg_stat_user_tables, read after the backends' 10 s idle flush)
   and bytes stored (pg_total_relation_size); the peak connections of the database (sampled every
   0.2 s);
5. probes: the audit sealer's rows/s (single by design: an advisory lock), and a hot-row probe —
   8 threads each committing the money_flow_days UPSERT of settlement on ONE row vs a row each,
   with synchronous_commit on and off;
6. prints the table, writes bench/results/capacity.json, stops everything, drops the database and
   deletes the run's Redis keys (all named with its RQ_QUEUE_PREFIX).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench import mix_traffic  # noqa: E402
from bench.create_order import (  # noqa: E402
    _cpu_times,
    _pids_named,
    _proc_jiffies,
    _tree,
    drop_or_keep_database,
    free_port,
    sa_url,
)
from bench.load_mix import (  # noqa: E402
    DEFAULT_SERVER,
    MERCHANT_NO,
    ONLINE,
    PASSWORD,
    WALLET,
    seed,
    start_server,
    stop_process_group,
)
from bench.sql_profile import throwaway_portal  # noqa: E402

RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")
# (kind, requests, requests/s): the order matters — creates make the orders the checkouts pay, ONLINE
# checkouts the payments the callbacks settle, WALLET checkouts the payments the refunds return.
# The kinds that print a receipt (WALLET checkout, callback, refund: ~0.3 s of CPU each in the documents
# worker) are sent fewer, so that the run stays near five minutes.
PHASES = (("create", 600, 100), ("status", 400, 100), ("list_api", 200, 50), ("list_page", 200, 50),
          ("checkout_wallet", 80, 20), ("checkout_online", 60, 20), ("callback", 50, 20),
          ("refund", 80, 20), ("mix", 250, 30), ("mix", 250, 30))
STATS_FLUSH_S = 11  # an idle PostgreSQL 15 backend flushes its table counters after 10 s
COUNTED = ("web", "postgres", "worker", "documents", "redis", "pg_aux")
SHARED = ("redis", "pg_aux")  # other sessions use them too: an idle baseline is subtracted


def log(msg: str = "") -> None:
    print(msg, flush=True)


# --- the processes -------------------------------------------------------------------------------

def start_child(argv: list[str], env: dict, logfile: Path, ready_line: str | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE if ready_line else open(logfile, "wb"),
                            stderr=subprocess.STDOUT if ready_line else None)
    if ready_line:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        if ready_line not in line:
            raise RuntimeError(f"{argv[:3]} did not start: {line!r}")
    return proc


def wait_for_workers(queues: dict[str, int], procs: list[subprocess.Popen], timeout: float = 60) -> None:
    """Until each named queue has that many workers listening."""
    from rq import Worker

    from app.services.platform.queues import queue, redis_connection

    deadline = time.time() + timeout
    while any(len(Worker.all(connection=redis_connection(), queue=queue(q))) < n for q, n in queues.items()):
        if any(p.poll() is not None for p in procs) or time.time() > deadline:
            raise RuntimeError("the workers did not start (see their logs in the bench's temporary folder)")
        time.sleep(0.2)


# --- what is still to do after a phase --------------------------------------------------------------

PENDING_SQL = {
    "outbox": "SELECT count(*) FROM outbox_events WHERE status = 'PENDING'",
    "deliveries": "SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING'",
    "documents": "SELECT count(*) FROM documents WHERE state IN ('QUEUED', 'RENDERING')",
    "mails": "SELECT count(*) FROM notifications WHERE mail_state = 'PENDING'",
}


def pending_work(pg: psycopg.Connection) -> dict[str, int]:
    """What is left, from the database first; Redis is asked (one pipeline, no registry cleanup) only
    once the database says done, so that the bench's own polling adds little to Redis's CPU."""
    from app.services.platform.queues import all_queues, redis_connection

    left = {k: pg.execute(sql).fetchone()[0] for k, sql in PENDING_SQL.items()}
    if any(left.values()):
        return left
    queues = all_queues()
    pipe = redis_connection().pipeline(transaction=False)
    for q in queues:
        pipe.llen(q.key)
        pipe.zcard(q.started_job_registry.key)
        pipe.zcard(q.scheduled_job_registry.key)
    counts = pipe.execute()
    for i, q in enumerate(queues):
        left[f"rq:{q.name}"] = sum(counts[3 * i:3 * i + 3])
    return left


def redis_calls() -> dict[str, int]:
    """Calls per command since the server started (INFO commandstats): the whole server's, so only a
    private one (``--private-redis``) gives the portal's alone."""
    from app.services.platform.queues import redis_connection

    return {k.removeprefix("cmdstat_"): v["calls"] for k, v in redis_connection().info("commandstats").items()}


def failed_jobs() -> int:
    from app.services.platform.queues import all_queues

    return sum(q.failed_job_registry.count for q in all_queues())


def wait_drained(pg: psycopg.Connection, timeout: float = 180) -> dict[str, int]:
    deadline = time.time() + timeout
    while True:
        left = pending_work(pg)
        if not any(left.values()) or time.time() > deadline:
            return {k: v for k, v in left.items() if v}
        time.sleep(0.25)


# --- CPU ----------------------------------------------------------------------------------------

class Processes:
    """The pids of each counted group, looked up afresh (workers and backends come and go)."""

    def __init__(self, pg: psycopg.Connection, db_name: str, web: int, worker: int, documents: int,
                 own_backends: set[int], redis: int | None):
        self.pg, self.db_name, self.redis = pg, db_name, redis
        self.web, self.worker, self.documents = web, worker, documents
        self.own_backends = own_backends

    def groups(self) -> dict[str, set[int]]:
        rows = self.pg.execute("SELECT pid, datname, backend_type FROM pg_stat_activity").fetchall()
        mine = {pid for pid, db, kind in rows if db == self.db_name and kind == "client backend"} - self.own_backends
        # The server's own processes (WAL writer, checkpointer, background writer, autovacuum): shared.
        aux = {pid for pid, _, kind in rows if kind != "client backend"}
        return {"web": set(_tree(self.web)), "postgres": mine, "worker": set(_tree(self.worker)),
                "documents": set(_tree(self.documents)),
                "redis": {self.redis} if self.redis else set(_pids_named("redis-server")),
                "pg_aux": aux}


class CpuWindow:
    """Jiffies of every group between enter and exit, pids looked up at both ends."""

    def __init__(self, procs: Processes):
        self.procs = procs

    def __enter__(self) -> CpuWindow:
        self.pids = self.procs.groups()
        self.start = {p: _proc_jiffies(p) for ps in self.pids.values() for p in ps}
        self.busy0, self.total0 = _cpu_times()
        self.t0 = time.perf_counter()
        self.load0 = os.getloadavg()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        busy1, total1 = _cpu_times()
        for g, ps in self.procs.groups().items():
            self.pids[g] |= ps
        self.ms = {g: sum(max(0, _proc_jiffies(p) - self.start.get(p, 0)) for p in ps) * 1000 / TICK
                   for g, ps in self.pids.items()}
        self.machine_busy = (busy1 - self.busy0) / max(1, total1 - self.total0)
        self.load1 = os.getloadavg()[0]


# --- WAL, rows, bytes ---------------------------------------------------------------------------

_REC = re.compile(r"len \(rec/tot\):\s*(\d+)/\s*(\d+), tx:\s*(\d+)")
_REL = re.compile(r"rel \d+/(\d+)/(\d+)")


def relation_tables(pg: psycopg.Connection) -> dict[int, str]:
    """relfilenode → the table it belongs to (an index or TOAST relation to its table)."""
    rows = pg.execute("""
        SELECT c.relfilenode, c.relname, c.relkind,
               (SELECT t.relname FROM pg_class t WHERE t.oid = i.indrelid) AS index_of,
               (SELECT t.relname FROM pg_class t WHERE t.reltoastrelid = c.oid) AS toast_of,
               (SELECT t.relname FROM pg_class t WHERE t.reltoastrelid = i.indrelid) AS toast_index_of
        FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid
        WHERE c.relfilenode <> 0""").fetchall()
    return {node: toast_index_of or toast_of or index_of or name
            for node, name, _kind, index_of, toast_of, toast_index_of in rows}


def wal_of_database(start: str, end: str, db_oid: int, tables: dict[int, str], pg_wal: Path) -> dict:
    """pg_waldump over [start, end): the bytes of the records that touch this database's relations,
    the commit records of their transactions, and of those the full-page images; by table."""
    waldump = Path("/usr/lib/postgresql/15/bin/pg_waldump")
    if not waldump.exists() or not pg_wal.exists():
        return {}
    if start == end:
        return {"bytes": 0, "fpi_bytes": 0, "records": 0, "by_table": {}}
    run = subprocess.run([str(waldump), "-p", str(pg_wal), "-s", start, "-e", end], capture_output=True, text=True)
    if run.returncode != 0:
        log(f"    pg_waldump {start}..{end}: {run.stderr.strip()[-300:]}")
    out = run.stdout
    xids: set[int] = set()
    total = fpi = records = 0
    by_table: dict[str, int] = defaultdict(int)
    for line in out.splitlines():
        m = _REC.search(line)
        if not m:
            continue
        rec, tot, xid = int(m.group(1)), int(m.group(2)), int(m.group(3))
        rels = [(int(d), int(n)) for d, n in _REL.findall(line)]
        ours = [n for d, n in rels if d == db_oid]
        if ours:
            if xid:
                xids.add(xid)
        elif not (xid and xid in xids and "rmgr: Transaction" in line):
            continue
        total += tot
        records += 1
        if tot > rec:
            fpi += tot - rec
        table = tables.get(ours[0], "catalog or other") if ours else "commit records"
        by_table[table] += tot
    return {"bytes": total, "fpi_bytes": fpi, "records": records,
            "by_table": dict(sorted(by_table.items(), key=lambda kv: -kv[1]))}


def table_stats(pg: psycopg.Connection) -> dict[str, tuple[int, int, int, int]]:
    """table → (inserted, updated, HOT-updated, bytes with indexes and TOAST)."""
    return {name: (ins, upd, hot, size) for name, ins, upd, hot, size in pg.execute(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, pg_total_relation_size(relid) "
        "FROM pg_stat_user_tables").fetchall()}


class ConnectionSampler(threading.Thread):
    """The database's connections every 0.2 s: the most open and the most busy at once."""

    def __init__(self, dsn: str, db_name: str, exclude: set[int]):
        super().__init__(daemon=True)
        self.dsn, self.db_name, self.exclude = dsn, db_name, exclude
        self.stop = threading.Event()
        self.peak_open = self.peak_busy = 0

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            skip = list(self.exclude | {conn.info.backend_pid})
            while not self.stop.wait(0.2):
                n, busy = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE state <> 'idle') FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> ALL(%s)", (self.db_name, skip)).fetchone()
                self.peak_open, self.peak_busy = max(self.peak_open, n), max(self.peak_busy, busy)


# --- probes ---------------------------------------------------------------------------------------

def seal_now(app) -> dict:
    """Seal the audit rows the phase wrote, here: rows, CPU of this process and of its backend."""
    from app.extensions import db
    from app.services.audit import log as audit

    with app.app_context():
        backend = db.session.execute(db.text("SELECT pg_backend_pid()")).scalar()
        db.session.rollback()
        j0, c0, t0 = _proc_jiffies(backend), time.process_time(), time.perf_counter()
        rows = audit.seal()
        wall = time.perf_counter() - t0
        out = {"rows": rows, "seconds": round(wall, 3), "python_cpu_ms": round((time.process_time() - c0) * 1000, 1),
               "postgres_cpu_ms": round((_proc_jiffies(backend) - j0) * 1000 / TICK, 1), "backend": backend}
        db.session.remove()
    return out


UPSERT = ("INSERT INTO money_flow_days (day, channel_code, payment_type, payments, received, refunds, refunded) "
          "VALUES (%s, 'PROBE', 'ADVANCE_PAYMENT', 1, 1.00, 0, 0) ON CONFLICT (day, channel_code, payment_type) "
          "DO UPDATE SET payments = money_flow_days.payments + excluded.payments, "
          "received = money_flow_days.received + excluded.received")


def _commit_upserts(dsn: str, day: date, sync: str, until: float, done: list[int], i: int) -> None:
    with psycopg.connect(dsn) as conn:
        while time.perf_counter() < until:
            with conn.transaction():
                if sync == "off":
                    conn.execute("SET LOCAL synchronous_commit = off")
                conn.execute(UPSERT, (day,))
            done[i] += 1


def hot_row_probe(dsn: str, threads: int = 8, seconds: float = 3.0) -> dict:
    """Transactions/s of ``threads`` connections each committing settlement's money_flow_days UPSERT:
    all on one row (one day, channel and type: the day's WALLET payments), or each on its own row;
    with synchronous_commit on (the portal's) and off (SET LOCAL, this probe only)."""
    out = {}
    for same_row in (True, False):
        for sync in ("on", "off"):
            done = [0] * threads
            until = time.perf_counter() + seconds
            ts = [threading.Thread(target=_commit_upserts, args=(
                dsn, date(1999, 1, 1) + timedelta(days=0 if same_row else i + 1), sync, until, done, i))
                for i in range(threads)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            out[f"{'one row' if same_row else 'a row each'}, synchronous_commit={sync}"] = round(sum(done) / seconds)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM money_flow_days WHERE channel_code = 'PROBE'")
    return out


# --- the run -------------------------------------------------------------------------------------

def per_request(window: CpuWindow, baseline: dict[str, float], n: int, shared: tuple[str, ...]) -> dict[str, float]:
    """CPU ms per request of each group; the shared ones less their idle rate over the window."""
    out = {}
    for g in COUNTED:
        ms = window.ms.get(g, 0.0)
        if g in shared:
            ms = max(0.0, ms - baseline.get(g, 0.0) * window.seconds)
        out[g] = round(ms / max(1, n), 3)
    return out


def idle_rates(procs: Processes, seconds: float) -> dict[str, float]:
    """CPU ms per second of every group while the portal does nothing."""
    with CpuWindow(procs) as w:
        time.sleep(seconds)
    return {g: ms / w.seconds for g, ms in w.ms.items()}


def run_phase(kind: str, count: int, rate: float, gen, ctx: dict) -> dict:
    pg, procs, app = ctx["pg"], ctx["procs"], ctx["app"]
    before_stats = ctx["stats"]
    gen.cycle = list(mix_traffic.weighted_cycle(mix_traffic.DEFAULT_MIX)) if kind == "mix" else [kind]
    lsn0 = pg.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    sampler = ConnectionSampler(ctx["dsn"], ctx["db_name"], procs.own_backends)
    sampler.start()
    calls0 = redis_calls()
    with CpuWindow(procs) as cpu:
        step = gen.run_step(rate, count / rate, ctx["connections"])
        driven_s = time.perf_counter() - cpu.t0
        left = wait_drained(pg)
    sampler.stop.set()
    sampler.join()
    lsn1 = pg.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    calls1 = redis_calls()
    sealed = seal_now(app)
    # The pause lets idle backends flush their table counters; its second half is the shared processes'
    # idle baseline next to this phase (the first half still holds the tail of the sealing).
    time.sleep(STATS_FLUSH_S / 2)
    baseline = idle_rates(procs, STATS_FLUSH_S / 2)
    after_stats = table_stats(pg)
    ctx["stats"] = after_stats
    answered = sum(step["ok"].values()) + sum(step["errors"].values())
    wal_server = pg.execute("SELECT pg_wal_lsn_diff(%s, %s)", (lsn1, lsn0)).fetchone()[0]
    wal = wal_of_database(str(lsn0), str(lsn1), ctx["db_oid"], ctx["tables"], ctx["pg_wal"])
    if ctx["slot"]:
        pg.execute("SELECT pg_replication_slot_advance(%s, %s)", (ctx["slot"], lsn1))
    rows = {}
    for t, (ins, upd, hot, size) in after_stats.items():
        i0, u0, h0, s0 = before_stats.get(t, (0, 0, 0, 0))
        if ins - i0 or upd - u0 or size - s0:
            rows[t] = {"inserted": round((ins - i0) / answered, 2), "updated": round((upd - u0) / answered, 2),
                       "hot_updated": round((hot - h0) / answered, 2),
                       "bytes": round((size - s0) / answered)}
    cpu_ms = per_request(cpu, baseline, answered, ctx["shared"])
    lat = sorted(v for vs in step["lat"].values() for v in vs)
    result = {
        "kind": kind, "started_at": time.strftime("%H:%M:%S", time.gmtime(time.time() - cpu.seconds)),
        "requests": answered, "sent_as": dict(step["ok"]), "errors": dict(step["errors"]),
        "first_errors": step["first_errors"], "rate": rate, "seconds_driven": round(driven_s, 1),
        "seconds_to_drained": round(cpu.seconds, 1), "not_drained": left, "failed_jobs": failed_jobs(),
        "p50_ms": round(lat[len(lat) // 2] / 1000, 1) if lat else None,
        "cpu_ms_per_request": cpu_ms, "cpu_ms_per_request_total": round(sum(cpu_ms.values()), 2),
        "cpu_ms_raw": {g: round(v, 1) for g, v in cpu.ms.items()},
        "idle_baseline_ms_per_s": {g: round(baseline.get(g, 0.0), 2) for g in ctx["shared"]},
        "audit_sealing": sealed, "audit_sealing_cpu_ms_per_request":
            round((sealed["python_cpu_ms"] + sealed["postgres_cpu_ms"]) / answered, 3),
        "wal_bytes_per_request": round(wal["bytes"] / answered) if wal else None,
        "wal_fpi_bytes_per_request": round(wal["fpi_bytes"] / answered) if wal else None,
        "wal_records_per_request": round(wal["records"] / answered, 1) if wal else None,
        "wal_bytes_by_table_per_request": {t: round(b / answered) for t, b in wal.get("by_table", {}).items()},
        "wal_bytes_server_per_request": round(float(wal_server) / answered),
        "redis_calls_per_request": dict(sorted(
            ((c, round((n - calls0.get(c, 0)) / answered, 2)) for c, n in calls1.items() if n > calls0.get(c, 0)),
            key=lambda kv: -kv[1])),
        "rows_per_request": rows, "connections_peak_open": sampler.peak_open,
        "connections_peak_busy": sampler.peak_busy, "machine_busy": round(cpu.machine_busy, 3),
        "loadavg": [round(cpu.load0, 2), round(cpu.load1, 2)],
    }
    c = cpu_ms
    if ctx["shared"] == ("pg_aux",):
        log(f"    redis commands a request (the bench's own llen/zcard polling included): "
            f"{sum(result['redis_calls_per_request'].values()):.1f}: "
            + ", ".join(f"{k} {v}" for k, v in list(result["redis_calls_per_request"].items())[:8]))
    log(f"{kind:<16}{answered:>5}  web {c['web']:6.2f}  pg {c['postgres']:5.2f}  worker {c['worker']:5.2f}  "
        f"pdf {c['documents']:6.2f}  redis {c['redis']:4.2f}  pg aux {c['pg_aux']:4.2f}  seal "
        f"{result['audit_sealing_cpu_ms_per_request']:4.2f} ms | WAL {result['wal_bytes_per_request']} B "
        f"(server {result['wal_bytes_server_per_request']}) | conns {sampler.peak_open}/{sampler.peak_busy} | "
        f"errors {sum(step['errors'].values())} | busy {cpu.machine_busy:.0%} load {cpu.load0:.1f}"
        + (f" | NOT DRAINED {left}" if left else "") + (f" | sent as {dict(step['ok'])}" if kind != "mix" and
                                                         set(step["ok"]) - {kind} else ""))
    for e in step["first_errors"]:
        log(f"    error: {e}")
    return result


def pg_settings(pg: psycopg.Connection) -> dict[str, str]:
    names = ("server_version", "max_connections", "shared_buffers", "synchronous_commit", "wal_level",
             "max_wal_size", "checkpoint_timeout", "full_page_writes", "wal_compression", "wal_buffers",
             "commit_delay", "effective_io_concurrency", "work_mem")
    return {n: pg.execute(f"SHOW {n}").fetchone()[0] for n in names}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every phase's request count (default 1)")
    ap.add_argument("--port-base", type=int, default=0,
                    help="ports base+1.. for the server, gateway, receiver, mail catcher (default: free ports)")
    ap.add_argument("--connections", type=int, default=16, help="the generator's sender threads (16)")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"))
    ap.add_argument("--private-redis", action="store_true",
                    help="a redis-server of the bench's own (port base+6): its CPU is the portal's alone, no baseline")
    ap.add_argument("--pg-wal", default="/var/lib/postgresql/15/main/pg_wal",
                    help="the server's pg_wal folder, for pg_waldump (skipped when not readable)")
    ap.add_argument("--output", default=str(RESULTS / "capacity.json"))
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args(argv)
    began = time.perf_counter()

    from app import create_app
    from app.extensions import db
    from app.models import ApiClient
    from app.services.platform.actor import Actor
    from app.services.platform.queues import all_queues, redis_connection
    from app.services.webhooks import endpoints
    from sandbox.testing import DEFAULT_MERCHANTS, start_sandbox

    def port(i: int) -> int:
        return args.port_base + i if args.port_base else free_port()

    api_secret, callback_secret = DEFAULT_MERCHANTS[MERCHANT_NO]
    tmp = Path(tempfile.mkdtemp(prefix="portal-capacity-"))
    (tmp / "prom").mkdir()
    web_port, gw_port, rcv_port, smtp_port, inbox_port, redis_port = (port(i) for i in range(1, 7))
    if args.private_redis:
        args.redis_url = f"redis://127.0.0.1:{redis_port}/0"
    base = f"http://127.0.0.1:{web_port}"
    env, db_name = throwaway_portal(
        args.database_url, REDIS_URL=args.redis_url, RQ_QUEUE_PREFIX=f"capacity-{secrets.token_hex(3)}-",
        PUBLIC_BASE_URL=base, PORT=str(web_port), LOGIN_RATE_LIMIT="100000 per minute",
        PROMETHEUS_MULTIPROC_DIR=str(tmp / "prom"), WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", LOG_LEVEL="WARNING", RQ_LOG_LEVEL="WARNING")
    db_url = env["DATABASE_URL"]
    children: list[subprocess.Popen] = []
    server = gateway = redis = None
    keep_logs = False
    dsn = sa_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        if args.private_redis:
            redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save",
                                      "", "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL,
                                     start_new_session=True)
            time.sleep(0.5)
        subprocess.run([str(VENV_BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        gateway = start_sandbox(port=gw_port)
        os.environ.update(env)
        app = create_app()
        seeded = seed(app, 8, gateway.base_url, callback_secret, api_secret)
        with app.app_context():
            client_id = db.session.scalar(sa.select(ApiClient.id).where(ApiClient.name.like("load-mix-%")))
            db.session.rollback()
            _, hook_secret = endpoints.register_endpoint(Actor(type="system", id="bench-capacity"), client_id,
                                                         f"http://127.0.0.1:{rcv_port}/hook", "*", "capacity bench")
            db.session.remove()
        children.append(start_child([sys.executable, "bench/webhooks.py", "--receiver", str(rcv_port), "--secret",
                                     hook_secret], env, tmp / "receiver.log", ready_line="ready"))
        children.append(start_child([sys.executable, "-m", "sandbox.mailcatcher", "--smtp-port", str(smtp_port),
                                     "--http-port", str(inbox_port), "--db", str(tmp / "mail.db")], env,
                                    tmp / "mail.log", ready_line="mail catcher listening"))
        # The general worker leaves the documents queue to its own worker here (scripts/run lets it help),
        # so that the PDFs' CPU is counted apart.
        worker = start_child([sys.executable, "worker.py", "--queues", "high,default,low"], env, tmp / "worker.log")
        documents = start_child(["nice", "-n", "10", sys.executable, "worker.py", "--queues", "documents"], env,
                                tmp / "documents.log")
        children += [worker, documents]
        server = start_server(DEFAULT_SERVER, env, web_port, tmp / "server.log")
        pg = psycopg.connect(dsn, autocommit=True)
        # A checkpoint may recycle a phase's WAL before pg_waldump reads it: a temporary slot (dropped
        # with this connection, whatever happens to the bench) keeps it until the phase is read.
        slot = f"capacity_{secrets.token_hex(4)}"
        try:
            pg.execute("SELECT pg_create_physical_replication_slot(%s, true, true)", (slot,))
        except psycopg.Error as exc:
            log(f"no replication slot ({exc}): a checkpoint during a phase may hide its WAL from pg_waldump")
            slot = None
        with app.app_context():
            wait_for_workers({"default": 1, "documents": 1}, [worker, documents])
            cfg = {"url": base, "api_key": seeded["api_key"], "password": PASSWORD, "mix": mix_traffic.DEFAULT_MIX,
                   "database_url": dsn, "connections": args.connections, "wallet_channel": WALLET,
                   "online_channel": ONLINE, "merchant_no": MERCHANT_NO, "callback_secret": callback_secret,
                   "users": seeded["users"], "seed": 1000, "prefix": f"cap{secrets.token_hex(2)}", "offset": 0}
            gen = mix_traffic.Generator(cfg)
            gen.setup()
            own = {pg.info.backend_pid, gen.db.info.backend_pid}
            procs = Processes(pg, db_name, server.pid, worker.pid, documents.pid, own, redis.pid if redis else None)
            # Warm-up, not counted: every gunicorn worker imports, compiles templates, opens connections;
            # the workers load WeasyPrint on their first receipt.
            gen.cycle = ["create"] * 3 + ["checkout_wallet", "status", "list_page", "list_api"]
            gen.run_step(20, 4, args.connections)
            wait_drained(pg)
            own.add(seal_now(app)["backend"])
            time.sleep(STATS_FLUSH_S)
            idle = idle_rates(procs, 10)
            log(f"database {db_name}; web {base} (gunicorn -w 3 sync), 1 worker + 1 documents worker (nice 10); "
                f"idle CPU ms/s {({g: round(v, 2) for g, v in idle.items()})}; load {os.getloadavg()}")
            ctx = {"pg": pg, "procs": procs, "slot": slot, "shared": ("pg_aux",) if redis else SHARED,
                   "app": app, "dsn": dsn, "db_name": db_name,
                   "connections": args.connections,
                   "db_oid": pg.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0],
                   "tables": relation_tables(pg), "pg_wal": Path(args.pg_wal), "stats": table_stats(pg)}
            phases = [run_phase(kind, max(1, int(n * args.scale)), rate, gen, ctx) for kind, n, rate in PHASES]
            sealing = [p["audit_sealing"] for p in phases if p["audit_sealing"]["rows"]]
            rows = sum(s["rows"] for s in sealing)
            sealer = {"rows": rows, "seconds": round(sum(s["seconds"] for s in sealing), 2),
                      "rows_per_second": round(rows / max(1e-9, sum(s["seconds"] for s in sealing))),
                      "cpu_ms_per_row": round(sum(s["python_cpu_ms"] + s["postgres_cpu_ms"] for s in sealing)
                                              / max(1, rows), 3)}
            log(f"audit sealer: {sealer}")
            hot = hot_row_probe(dsn)
            log(f"hot row (money_flow_days UPSERT + COMMIT, 8 connections, tx/s): {hot}")
        mixes = [p for p in phases if p["kind"] == "mix"]
        out = {
            "phases": phases, "audit_sealer": sealer, "hot_row_probe_tx_per_s": hot,
            "idle_cpu_ms_per_s": {g: round(v, 2) for g, v in idle.items()},
            "mix_cpu_ms_per_request": [m["cpu_ms_per_request"] for m in mixes],
            "mix_cpu_ms_per_request_total": [m["cpu_ms_per_request_total"] for m in mixes],
            "redis": "private redis-server" if redis
            else f"shared redis-server ({args.redis_url}), idle baseline subtracted",
            "server": DEFAULT_SERVER.format(port="PORT", venv=".venv/bin"),
            "workers": "python worker.py --queues high,default,low + nice -n 10 python worker.py --queues documents",
            "postgresql": pg_settings(pg), "cpus": os.cpu_count(),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "loadavg_end": os.getloadavg(),
            "run_seconds": round(time.perf_counter() - began),
        }
        pg.close()
        RESULTS.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(out, indent=2, default=str) + "\n")
        log(f"wrote {args.output}")
        failed = any(p["errors"] or p["not_drained"] or p["failed_jobs"] for p in phases)
        if failed:
            keep_logs = True
            log(f"errors: the logs of the server and workers are kept in {tmp}")
        return 1 if failed else 0
    finally:
        if server is not None:
            stop_process_group(server)
        for c in children:
            stop_process_group(c)
        if gateway is not None:
            gateway.stop()
        if redis is not None:
            stop_process_group(redis)  # its queues go with it
        else:
            try:  # the run's queues, then every key named with its prefix (jobs, results, sessions)
                with create_app().app_context():
                    for q in all_queues():
                        q.empty()
                    conn = redis_connection()
                    conn.srem("rq:queues", *[q.key for q in all_queues()])
                    for key in conn.scan_iter(match=f"*{env['RQ_QUEUE_PREFIX']}*", count=1000):
                        conn.delete(key)
            except Exception as exc:  # noqa: BLE001 - cleanup of the bench's own keys: shown, not fatal
                log(f"cleanup: {exc}")
        drop_or_keep_database(args.database_url, db_name, args.keep_db)
        if not keep_logs:
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(env["INSTANCE_PATH"], ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
