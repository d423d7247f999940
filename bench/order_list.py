"""Benchmark: the reseller's payment-order list (``GET /orders``) on PostgreSQL, measured at the server.

    .venv/bin/python bench/order_list.py [--requests 40] [--reseed] [--database-url postgresql://...]

The issue's target: under 100 ms at the server for a reseller with 20,000 payment orders in a
database of 1,000,000, for each filter alone and combined.

What it does (see bench/README.md):

1. creates the database ``bench_orders`` (``--db-name``) on the server of ``--database-url`` unless it
   exists, migrates it to head (``flask db upgrade``: an index added later is applied to a database
   seeded before), and seeds it unless it already holds the data set: 100 resellers, channels of
   every kind, 1,000,000 payment orders of which 20,000 belong to R1001 (every 50th row, so that
   its orders are spread over the whole table as they would be after two years of business), their
   payment transactions (one per order with money paid or in flight), in a few set-based
   ``INSERT ... SELECT generate_series`` statements, then VACUUM ANALYZE;
2. builds the real app in this process (``create_app()`` on that database), signs in a reseller
   operator of R1001 through the sign-in form, and requests ``/orders`` with each filter
   combination of ``CASES`` with the Flask test client: the whole view — session and user,
   form validation, the totals and page queries, the count, rendering the page — timed with
   ``perf_counter`` around each request (warm-up requests first), SQL time and statement count
   from SQLAlchemy's cursor events;
3. prints p50/p95/max per combination, the SQL time and this process's CPU time per request (the
   Python part, which a busy machine does not inflate as much as wall time), how busy the machine
   was meanwhile (it waits up to ``--quiet-wait`` s for an idle machine before each case: other
   processes on the machine inflate every figure), and writes bench/results/order_list.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.create_order import _cpu_times, cpu_model, drop_database, sa_url, wait_for_quiet  # noqa: E402

RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
TARGET_MS = 100.0
EMAIL = "operator@r1001.bench.example"
PASSWORD = "bench password, long enough"
SEED_VERSION = 2  # bump when the data set changes: a database seeded by another version is seeded again

# The data set. R1001 owns every STRIDE-th order.
TOTAL = 1_000_000
MINE = 20_000
RESELLERS = 100
STRIDE = TOTAL // MINE
CHANNELS = (  # code, kind, name, name_en
    ("ONLINE_UNIONPAY", "ONLINE", "银联在线", "UnionPay online"),
    ("WALLET", "WALLET", "企业钱包", "Enterprise wallet"),
    ("WIRE_ICBC", "WIRE", "工行电汇", "ICBC wire"),
    ("CREDIT", "CREDIT", "信用额度", "Credit line"),
)


def log(msg: str = "") -> None:
    print(msg, flush=True)


# --- database ------------------------------------------------------------------------------------

def ensure_database(base_url: str, name: str) -> str:
    url = sa_url(base_url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            log(f"creating database {name}")
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def migrate(env: dict) -> None:
    subprocess.run([str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def seeded(engine, total: int = TOTAL, mine: int = MINE) -> bool:
    with engine.connect() as conn:
        if not conn.execute(sa.text("SELECT to_regclass('bench_seed') IS NOT NULL")).scalar_one():
            return False
        row = conn.execute(sa.text("SELECT version, total, mine FROM bench_seed")).first()
    return row is not None and tuple(row) == (SEED_VERSION, total, mine)


def seed_sql(total: int = TOTAL, mine: int = MINE) -> list[str]:
    """The set-based seeding statements for ``total`` orders of which ``mine`` are R1001's
    (bench/finance_desk.py seeds a smaller data set with the same statements)."""
    stride = total // mine
    return [
        # resellers R1001..R1100; R1001 is the one measured
        f"""INSERT INTO resellers (code, name, status, credit_limit, credit_used, credit_term_days, credit_status,
                approval_threshold, wallet_balance, version, created_at, updated_at)
            SELECT 'R' || (1000 + g), '经销商 ' || (1000 + g), 'ACTIVE', 5000000, 0, 30, 'ACTIVE', 1000000, 800000, 1,
                   now(), now()
            FROM generate_series(1, {RESELLERS}) g""",
        # the orders: R1001 every STRIDE-th row, the others round-robin; created over two years, newest last
        f"""INSERT INTO payment_orders (payment_id, order_id, reseller_id, payment_type, payment_amount, paid_amount,
                refunded_amount, reserved_amount, refunding_amount, currency, payment_status, refund_status,
                last_attempt_failed, last_refund_failed, payment_deadline, business_desc, priority,
                related_business_id, related_business_type, tags, version, created_at, updated_at)
            SELECT 'PAY' || lpad(g::text, 20, '0'), 'SO' || lpad(g::text, 10, '0'),
                   -- the resellers were numbered 1.. in code order (RESTART IDENTITY): R1001 is 1
                   CASE WHEN g % {stride} = 0 THEN 1 ELSE 2 + g % {RESELLERS - 1} END,
                   (ARRAY['ADVANCE_PAYMENT','ADVANCE_PAYMENT','FINAL_PAYMENT','FINAL_PAYMENT','OTHER_FEE',
                          'CREDIT_REPAYMENT'])[1 + (h / 20) % 6],
                   amount,
                   CASE st WHEN 'PAID' THEN amount WHEN 'PARTIAL_PAID' THEN round(amount * 0.3, 2)
                           WHEN 'STOPPED' THEN 0 ELSE 0 END,
                   0,
                   CASE st WHEN 'PAYING' THEN round(amount * 0.5, 2) ELSE 0 END,
                   0, 'CNY', st, 'NO_REFUND', st = 'FAILED', false,
                   CASE WHEN h % 10 = 3 THEN NULL ELSE created + ((15 + (h / 120) % 106) || ' days')::interval END,
                   '订单 ' || g, 0, '', NULL, '{{}}', 1, created, created
            FROM (
                SELECT g, h,
                       round((100 + ((h / 7) % 99990000) / 10.0)::numeric, 2) AS amount,
                       (ARRAY['UNPAID','UNPAID','UNPAID','UNPAID','PAID','PAID','PAID','PARTIAL_PAID','PARTIAL_PAID',
                              'PAYING','FAILED','STOPPED','FROZEN','UNPAID','PAID','UNPAID','PAID','PARTIAL_PAID',
                              'UNPAID','PAID'])[1 + h % 20] AS st,
                       now() - interval '730 days' + (g * (730.0 * 86400 / {total})) * interval '1 second' AS created
                -- h: a well-mixed number per row (Knuth's multiplicative hash), so that every reseller,
                -- including every STRIDE-th row's, gets every status, type, amount and deadline
                FROM (SELECT g, (g::bigint * 2654435761) % 4294967296 AS h FROM generate_series(1, {total}) g) gh
            ) s""",
        # one PAYMENT transaction per order with money paid (SUCCESS) or in flight (PROCESSING)
        """INSERT INTO transactions (transaction_id, payment_order_id, order_id, reseller_id, transaction_type, status,
                amount, refunded_amount, refunding_amount, channel_id, channel_code, channel_kind, created_at,
                completed_at)
            SELECT 'TXN' || lpad(o.id::text, 20, '0'), o.id, o.order_id, o.reseller_id, 'PAYMENT',
                   CASE WHEN o.reserved_amount > 0 THEN 'PROCESSING' ELSE 'SUCCESS' END,
                   CASE WHEN o.reserved_amount > 0 THEN o.reserved_amount ELSE o.paid_amount END, 0, 0,
                   c.id, c.code, c.kind, o.created_at + interval '1 day',
                   CASE WHEN o.reserved_amount > 0 THEN NULL ELSE o.created_at + interval '1 day' END
            FROM payment_orders o
            JOIN channels c ON c.sort_order = ((o.id * 2654435761) % 4294967296 / 7) % 4
            WHERE o.paid_amount > 0 OR o.reserved_amount > 0""",
    ]


SEED_SQL = seed_sql()


def seed(engine, env: dict, total: int = TOTAL, mine: int = MINE) -> None:
    started = time.monotonic()
    statements = seed_sql(total, mine)
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
        for table in ("transactions", "status_log", "payment_orders", "channels", "users"):
            conn.execute(sa.text(f"TRUNCATE {table} RESTART IDENTITY CASCADE"))
        conn.execute(sa.text("TRUNCATE resellers RESTART IDENTITY CASCADE"))
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_seed"))
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        conn.execute(sa.text(statements[0]))
        for i, (code, kind, name, name_en) in enumerate(CHANNELS):
            conn.execute(sa.text(
                """INSERT INTO channels (code, name, name_en, kind, enabled, min_amount, supports_refund,
                       supports_partial_refund, confirm_timeout_seconds, expire_seconds, available_to_all, config,
                       sort_order, created_at, updated_at)
                   VALUES (:code, :name, :name_en, :kind, true, 0.01, true, true, 900, 86400, true, '{}', :i,
                           now(), now())"""), {"code": code, "name": name, "name_en": name_en, "kind": kind, "i": i})
        log(f"  seeding {total:,} payment orders ({mine:,} of R1001) ...")
        # A bulk load: the row trigger that keeps open_order_days is off meanwhile and the table is
        # rebuilt from the rows after (what migration 28bfb1d0f3b5's backfill does).
        conn.execute(sa.text("ALTER TABLE payment_orders DISABLE TRIGGER payment_orders_open_days"))
        conn.execute(sa.text(statements[1]))
        conn.execute(sa.text("ALTER TABLE payment_orders ENABLE TRIGGER payment_orders_open_days"))
        conn.execute(sa.text("DELETE FROM open_order_days"))
        conn.execute(sa.text(
            "INSERT INTO open_order_days (day, stripe, orders, payable) "
            "SELECT (payment_deadline AT TIME ZONE 'UTC')::date, 0, count(*), "
            "sum(payment_amount - paid_amount - reserved_amount) FROM payment_orders "
            "WHERE payment_deadline IS NOT NULL AND payment_status NOT IN ('PAID','STOPPED') GROUP BY 1"))
        log(f"  ... {time.monotonic() - started:.0f} s; their transactions ...")
        conn.execute(sa.text(statements[2]))
        conn.execute(sa.text("CREATE TABLE bench_seed (version int, total int, mine int)"))
        conn.execute(sa.text("INSERT INTO bench_seed VALUES (:v, :t, :m)"), {"v": SEED_VERSION, "t": total, "m": mine})
    os.environ.update(env)
    from app import create_app
    from app.extensions import db
    from app.services.accounts.users import create_user
    from app.services.platform.actor import Actor

    app = create_app()
    with app.app_context():
        create_user(Actor(type="system", id="bench"), EMAIL, PASSWORD, "reseller_operator", "R1001")
        db.session.remove()
        db.engine.dispose()
    log(f"  ... {time.monotonic() - started:.0f} s; VACUUM ANALYZE ...")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    log(f"seeded in {time.monotonic() - started:.0f} s")


# --- the cases -----------------------------------------------------------------------------------

def cases(engine) -> list[tuple[str, str]]:
    """(name, query string) per measured combination, built from the data (ids and dates of R1001)."""
    with engine.connect() as conn:
        rid = conn.execute(sa.text("SELECT id FROM resellers WHERE code = 'R1001'")).scalar_one()
        ids = conn.execute(sa.text("SELECT order_id FROM payment_orders WHERE reseller_id = :r ORDER BY id "
                                   "LIMIT 3 OFFSET 5000"), {"r": rid}).scalars().all()
        foreign = conn.execute(sa.text("SELECT order_id FROM payment_orders WHERE reseller_id <> :r LIMIT 1"),
                               {"r": rid}).scalar_one()
    today = datetime.now(UTC).date()
    month = (today - timedelta(days=400), today - timedelta(days=370))
    soon = (today + timedelta(days=10), today + timedelta(days=40))
    created = f"createdFrom={month[0]}&createdTo={month[1]}"
    deadline = f"deadlineFrom={soon[0]}&deadlineTo={soon[1]}"
    quarter = f"createdFrom={today - timedelta(days=200)}&createdTo={today - timedelta(days=110)}"
    return [
        ("no filter (newest first)", ""),
        ("status UNPAID", "paymentStatus=UNPAID"),
        ("status PARTIAL_PAID,PAYING", "paymentStatus=PARTIAL_PAID,PAYING"),
        ("type FINAL_PAYMENT", "paymentType=FINAL_PAYMENT"),
        ("orderId x3", "orderId=" + ",".join(ids)),
        ("orderId of another reseller", f"orderId={foreign}"),
        ("amount 50,000-60,000", "minAmount=50000&maxAmount=60000"),
        ("amount >= 9,000,000", "minAmount=9000000"),
        ("created: one month", created),
        ("deadline: next month", deadline),
        ("channel WIRE_ICBC", "channel=WIRE_ICBC"),
        ("overdue", "overdue=1"),
        ("status+type+amount+created", "paymentStatus=UNPAID,PARTIAL_PAID&paymentType=ADVANCE_PAYMENT"
                                       f"&minAmount=10000&maxAmount=5000000&{quarter}"),
        ("all filters", "paymentStatus=UNPAID,PARTIAL_PAID,PAYING&paymentType=ADVANCE_PAYMENT,FINAL_PAYMENT"
                        f"&minAmount=1000&maxAmount=9000000&{quarter}&deadlineFrom={today - timedelta(days=150)}"
                        f"&deadlineTo={today + timedelta(days=30)}&channel=WIRE_ICBC"),
        ("channel + status PARTIAL_PAID", "channel=ONLINE_UNIONPAY&paymentStatus=PARTIAL_PAID"),
        ("sort amount desc", "sort=-amount"),
        ("sort deadline, page 50", "sort=deadline&page=50"),
        ("100 per page", "pageSize=100"),
        ("status UNPAID, HTMX partial", "paymentStatus=UNPAID&hx=1"),
    ]


# --- measuring -----------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def signed_in_app(env: dict, email: str, password: str = PASSWORD):
    """The real app on ``env``'s database (login rate limit lifted), a test client signed in as ``email``
    through the sign-in form, and the counter ``{"n": statements, "ms": their time}`` that the app's
    engine adds every SQL statement to."""
    os.environ.update(env)
    from app import create_app
    from app.extensions import db

    app = create_app({"LOGIN_RATE_LIMIT": "100000 per minute"})
    client = app.test_client()
    page = client.get("/login")
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    assert match, "no CSRF token on /login"
    signed = client.post("/login", data={"email": email, "password": password, "csrf_token": match.group(1)})
    assert signed.status_code == 302, signed.get_data(as_text=True)[:500]

    sql = {"n": 0, "ms": 0.0}
    with app.app_context():
        db_engine = db.engine

    @sa.event.listens_for(db_engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    @sa.event.listens_for(db_engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        sql["n"] += 1
        sql["ms"] += (time.perf_counter() - conn.info.pop("bench_t0")) * 1000

    return app, client, sql


def time_page(client, sql: dict, path: str, query: str, requests: int, warmup: int) -> dict:
    """``requests`` timed GETs of ``path?query`` after ``warmup`` untimed ones (``hx=1`` in the query:
    asked as HTMX asks, with HX-Request); ``sql`` is signed_in_app's counter. Returns the url, htmx,
    the last answer's body and the figures."""
    htmx = "hx=1" in query
    query = query.replace("&hx=1", "").replace("hx=1", "")
    url = path + (f"?{query}" if query else "")
    headers = {"HX-Request": "true"} if htmx else {}
    times: list[float] = []
    sql_ms: list[float] = []
    sql_n: list[int] = []
    cpu_ms: list[float] = []
    body = ""
    busy = _cpu_times()
    for i in range(warmup + requests):
        if i == warmup:
            busy = _cpu_times()
        sql["n"], sql["ms"] = 0, 0.0
        c0, t0 = time.process_time(), time.perf_counter()
        response = client.get(url, headers=headers)
        body = response.get_data(as_text=True)
        elapsed = (time.perf_counter() - t0) * 1000
        cpu = (time.process_time() - c0) * 1000
        assert response.status_code == 200, (url, response.status_code, body[:300])
        if i >= warmup:
            times.append(elapsed)
            cpu_ms.append(cpu)
            sql_ms.append(sql["ms"])
            sql_n.append(sql["n"])
    b1, t1 = _cpu_times()
    return {"url": url, "htmx": htmx, "body": body,
            "p50_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 0.95), 2),
            "max_ms": round(max(times), 2), "sql_p50_ms": round(statistics.median(sql_ms), 2),
            "python_cpu_p50_ms": round(statistics.median(cpu_ms), 2), "statements": int(statistics.median(sql_n)),
            "machine_busy": round((b1 - busy[0]) / max(1, t1 - busy[1]), 2)}


def measure(env: dict, engine, requests: int, warmup: int, quiet_wait: float) -> list[dict]:
    from app.extensions import db

    app, client, sql = signed_in_app(env, EMAIL)
    results = []
    for name, query in cases(engine):
        if quiet_wait:
            wait_for_quiet(quiet_wait)
        figures = time_page(client, sql, "/orders", query, requests, warmup)
        body = figures.pop("body")
        count = re.search(r'data-testid="order-totals" data-count="(\d+)"', body)
        rows = len(re.findall(r'data-testid="order-row"', body))
        results.append({"case": name, "url": figures.pop("url"), "htmx": figures.pop("htmx"),
                        "matched": int(count.group(1)) if count else 0, "rows": rows, **figures})
        r = results[-1]
        log(f"  {name:<32} {r['matched']:>6} {r['rows']:>4} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} "
            f"{r['max_ms']:>7.1f} {r['sql_p50_ms']:>7.1f} {r['python_cpu_p50_ms']:>7.1f} {r['statements']:>5} "
            f"{r['machine_busy']:>5.0%}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return results


def machine_info(engine) -> dict:
    with engine.connect() as conn:
        settings = {k: conn.execute(sa.text(f"SHOW {k}")).scalar_one()
                    for k in ("server_version", "shared_buffers", "work_mem", "effective_cache_size")}
        sizes = {t: conn.execute(sa.text(f"SELECT pg_size_pretty(pg_total_relation_size('{t}'))")).scalar_one()
                 for t in ("payment_orders", "transactions")}
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "python": platform.python_version(),
            "postgresql": settings, "table_sizes": sizes}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"),
                    help="server to create the benchmark database on (its database name is ignored)")
    ap.add_argument("--db-name", default="bench_orders", help="benchmark database, kept and reused (bench_orders)")
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
                    help="Redis of the rate limiter and sessions' limiter storage (default DB 5)")
    ap.add_argument("--requests", type=int, default=40, help="measured requests per combination (default 40)")
    ap.add_argument("--warmup", type=int, default=3, help="unmeasured requests first (default 3)")
    ap.add_argument("--reseed", action="store_true", help="seed again even if the database holds the data set")
    ap.add_argument("--drop", action="store_true", help="drop the benchmark database at the end")
    ap.add_argument("--quiet-wait", type=float, default=60,
                    help="before each case, wait up to this many seconds for an idle machine (default 60; 0: never)")
    ap.add_argument("--output", default=str(RESULTS / "order_list.json"))
    args = ap.parse_args(argv)

    url = ensure_database(args.database_url, args.db_name)
    instance = tempfile.mkdtemp(prefix="bench-orders-")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis_url, "INSTANCE_PATH": instance,
           "RQ_QUEUE_PREFIX": "bench-orders-", "LOG_LEVEL": "WARNING"}
    migrate(env)
    engine = sa.create_engine(sa_url(url))
    if args.reseed or not seeded(engine):
        seed(engine, env)
    else:
        log(f"database {args.db_name} already holds the data set; reusing it (--reseed to seed again)")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE payment_orders"))
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM payment_orders")).scalar_one()
        mine = conn.execute(sa.text("SELECT count(*) FROM payment_orders o JOIN resellers r ON r.id = o.reseller_id "
                                    "WHERE r.code = 'R1001'")).scalar_one()
        txns = conn.execute(sa.text("SELECT count(*) FROM transactions")).scalar_one()
    log(f"data: {total:,} payment orders, {mine:,} of R1001, {txns:,} transactions")
    log(f"GET /orders as an operator of R1001, {args.requests} requests per case after {args.warmup} warm-up; "
        "times in ms at the server (whole view: session, queries, rendering)")
    log(f"  {'case':<32} {'match':>6} {'rows':>4} {'p50':>7} {'p95':>7} {'max':>7} {'sql p50':>7} {'cpu p50':>7} "
        f"{'stmts':>5} {'busy':>5}")
    results = measure(env, engine, args.requests, args.warmup, args.quiet_wait)
    worst_p95 = max(r["p95_ms"] for r in results)
    met = all(r["p95_ms"] < TARGET_MS for r in results)
    log(f"worst p95 {worst_p95:.1f} ms; target < {TARGET_MS:.0f} ms for every case: {'MET' if met else 'NOT MET'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"target_ms": TARGET_MS, "met": met, "worst_p95_ms": worst_p95, "orders": total, "reseller_orders": mine,
           "transactions": txns, "requests_per_case": args.requests, "warmup": args.warmup,
           "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine_info(engine),
           "cases": results}
    Path(args.output).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    log(f"wrote {args.output}")
    engine.dispose()
    if args.drop:
        drop_database(args.database_url, args.db_name)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
