"""Benchmark: the finance desk (issue 14) on PostgreSQL, measured at the server.

    .venv/bin/python bench/finance_desk.py [--orders 1000000] [--requests 30] [--keep] [--database-url ...]

Targets (issue 14, "Done means"): on the 1,000,000-order data set of bench/order_list.py, the
``/finance`` dashboard p95 under 100 ms and ``/finance/transactions`` p95 under 100 ms with every
filter (each filter of the screen alone, and all combined); a 10,000-row batch payout file validated
in under 5 s.

What it does (see bench/README.md):

1. creates its own database (``--db-name``, default ``bench_finance_desk``) on the server of
   ``--database-url``, migrates it to head and seeds it with bench/order_list.py's own seeding code
   (imported, not copied: ``--orders`` orders, 1/50 of them R1001's, one PAYMENT transaction per order
   with money paid or in flight, VACUUM ANALYZE), then adds a finance user;
2. builds the real app in this process, signs the finance user in through the sign-in form and, like
   order_list.py, requests each case with the Flask test client, timing each whole request
   (session and user, filter validation, the queries, rendering the full page) with ``perf_counter``
   after warm-up requests; SQL time and statement count from SQLAlchemy's cursor events, this
   process's CPU time from ``process_time``;
3. baselines in the same run: ``/healthz`` (the app's floor: Flask and the portal's hooks, no session,
   no database) and, per transactions case, the bare queries — ``transactions.search.search`` and
   ``totals`` with the same filter, called directly in an app context, no request, no rendering;
4. the batch file: a 10,000-row CSV (and the same rows as XLSX) of distinct payees, validated with
   ``payouts.batches.check_file`` — the service function the ``/finance/disbursements`` batch upload
   calls before anything is stored (merchant lookup, reading and decoding, the header, every row
   rule, duplicates) — ``--batch-rounds`` times;
5. prints the figures, writes bench/results/finance_desk.json and drops the database unless ``--keep``.
   Exit status 1 when a target is missed.

Since the stored aggregates (migration 28bfb1d0f3b5): ``money_flow_days`` is rebuilt after seeding (the
seed writes transactions directly), each transactions case also times the exact totals over every
matching row (the screen's way before), the dashboard's flows and overdue figures are timed from the
rows next to the stored ones, and both aggregate tables are compared with a recomputation at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import order_list  # noqa: E402
from bench.create_order import wait_for_quiet  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGET_MS = 100.0
BATCH_TARGET_S = 5.0
BATCH_ROWS = 10_000
EMAIL = "finance@bench.example"
PASSWORD = "bench password, long enough"
MERCHANT = "MBENCH"
log = order_list.log
BACKFILL: dict[str, Any] = {}
percentile = order_list.percentile


# --- data ----------------------------------------------------------------------------------------

def prepare(args: argparse.Namespace, env: dict) -> tuple[sa.engine.Engine, float | None]:
    """Migrate and seed (unless the database already holds this data set); the seeding seconds."""
    order_list.migrate(env)
    engine = sa.create_engine(order_list.sa_url(env["DATABASE_URL"]))
    total, mine = args.orders, max(1, args.orders // 50)
    seconds = None
    if args.reseed or not order_list.seeded(engine, total, mine):
        started = time.monotonic()
        order_list.seed(engine, env, total, mine)
        seconds = round(time.monotonic() - started, 1)
    else:
        log(f"database {args.db_name} already holds {total:,} orders; reusing it (--reseed to seed again)")
    os.environ.update(env)
    from app import create_app
    from app.extensions import db
    from app.models import Merchant, User
    from app.services.accounts.users import create_user
    from app.services.payouts.merchants import upsert_merchant
    from app.services.platform.actor import Actor

    app = create_app()
    with app.app_context():
        from app.services.ledgers import money_flows

        if seconds is not None or not money_flows.stored():  # the seed wrote its transactions directly

            started = time.monotonic()
            rows = money_flows.rebuild()
            db.session.commit()
            BACKFILL["money_flow_days_s"] = round(time.monotonic() - started, 1)
            BACKFILL["money_flow_days_rows"] = rows
            log(f"money_flow_days rebuilt from the transactions: {rows:,} rows in {BACKFILL['money_flow_days_s']} s")
        system = Actor(type="system", id="bench")
        if db.session.scalar(sa.select(User.id).where(User.email == EMAIL)) is None:
            create_user(system, EMAIL, PASSWORD, "finance")
        if db.session.scalar(sa.select(Merchant.id).where(Merchant.merchant_id == MERCHANT)) is None:
            upsert_merchant(system, MERCHANT, "批量付款账户", Decimal("500000.00"), Decimal("100000000.00"))
        db.session.remove()
        db.engine.dispose()
    return engine, seconds


def transaction_cases(engine) -> list[tuple[str, str]]:
    """(name, query string): each filter of /finance/transactions alone, then all combined."""
    with engine.connect() as conn:
        txn, channel = conn.execute(sa.text(
            "SELECT transaction_id, channel_code FROM transactions ORDER BY id LIMIT 1 OFFSET 1000")).one()
    today = datetime.now(UTC).date()
    month = f"createdFrom={today - timedelta(days=400)}&createdTo={today - timedelta(days=370)}"
    done = f"completedFrom={today - timedelta(days=200)}&completedTo={today - timedelta(days=170)}"
    all_filters = (f"channel=WIRE_ICBC&kind=PAYMENT&status=SUCCESS&reseller=R1001"
                   f"&createdFrom={today - timedelta(days=400)}&createdTo={today - timedelta(days=100)}"
                   f"&completedFrom={today - timedelta(days=390)}&completedTo={today - timedelta(days=110)}"
                   f"&minAmount=1000&maxAmount=9000000")
    return [
        ("no filter (newest first)", ""),
        ("channel WIRE_ICBC", "channel=WIRE_ICBC"),
        ("kind PAYMENT", "kind=PAYMENT"),
        ("kind REFUND (none in the data)", "kind=REFUND"),
        ("status PROCESSING", "status=PROCESSING"),
        ("reseller R1001", "reseller=R1001"),
        ("created: one month", month),
        ("completed: one month", done),
        ("amount 50,000-60,000", "minAmount=50000&maxAmount=60000"),
        ("amount >= 9,000,000", "minAmount=9000000"),
        ("reference: a transaction id", f"reference={txn}"),
        ("reference: unknown serial", "reference=NO-SUCH-SERIAL-0001"),
        ("merged payment (unknown)", "mergedPaymentId=MP-NO-SUCH"),
        ("all filters but reference/merged", all_filters),
        ("all filters", all_filters + f"&reference={txn}&mergedPaymentId=MP-NO-SUCH"),
        ("channel + status, page 20", f"channel={channel}&status=SUCCESS&page=20"),
        ("status PROCESSING, HTMX partial", "status=PROCESSING&hx=1"),
    ]


def dashboard_cases() -> list[tuple[str, str]]:
    old = datetime.now(UTC).date() - timedelta(days=200)
    return [("/finance (today)", ""), ("/finance?day= 200 days ago", f"day={old}"),
            ("/finance, HTMX partial", "hx=1")]


# --- measuring -----------------------------------------------------------------------------------

def _run_case(client, sql: dict, path: str, query: str, requests: int, warmup: int, quiet_wait: float) -> dict:
    if quiet_wait:
        wait_for_quiet(quiet_wait)
    return order_list.time_page(client, sql, path, query, requests, warmup)


def _bare_queries(app, query: str, requests: int, warmup: int) -> dict:
    """The screen's two queries (page and totals) with the same filter, called directly: no request."""
    from app.blueprints.web import finance_transactions as view
    from app.services.transactions import search as txn_search

    query = query.replace("&hx=1", "").replace("hx=1", "")
    with app.test_request_context("/finance/transactions" + (f"?{query}" if query else "")):
        errors: dict[str, str] = {}
        f = view._filter(errors)
        assert not errors, errors
        page = max(1, int(dict(p.split("=", 1) for p in query.split("&") if p).get("page", 1)))
        times = []
        for i in range(warmup + requests):
            t0 = time.perf_counter()
            txn_search.search(f, page)
            txn_search.totals(f)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
        from app.extensions import db
        db.session.remove()
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 0.95), 2)}


def _timed(fn, requests: int) -> dict:
    times = []
    for i in range(requests + 1):
        t0 = time.perf_counter()
        fn()
        if i:
            times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 0.95), 2)}


def _exact_totals(app, query: str, requests: int) -> dict:
    """The baseline in the same run: the filtered set's totals as the screen computed them before — an
    exact count and the sums over every matching row, however many."""
    from app.blueprints.web import finance_transactions as view
    from app.extensions import db
    from app.services.transactions import search as txn_search

    query = query.replace("&hx=1", "").replace("hx=1", "")
    with app.test_request_context("/finance/transactions" + (f"?{query}" if query else "")):
        f = view._filter({})
        big = 10**12  # no cap: the exact path over every row
        result = _timed(lambda: txn_search.totals(f, cap=big), requests)
        result["count"] = txn_search.totals(f, cap=big).count
        db.session.remove()
    return result


def _scan_baseline(app, requests: int) -> dict:
    """The dashboard's two heavy figures computed from the rows, as /finance did before the stored
    aggregates: the month's money by channel and by payment type grouped from ``transactions`` (and the
    30-day trend), and the overdue orders counted in ``payment_orders``; next to the stored path."""
    from app.domain.enums import TransactionStatus, TransactionType
    from app.domain.timeutil import shanghai_day_bounds, shanghai_today, utcnow
    from app.extensions import db
    from app.models import PaymentOrder, PaymentTransaction
    from app.services.dashboards import overdue
    from app.services.dashboards.finance import finance_dashboard
    from app.services.ledgers import money_flows

    t = PaymentTransaction
    today = shanghai_today()
    start, end = shanghai_day_bounds(today.replace(day=1))[0], shanghai_day_bounds(today)[1]
    trend_start = shanghai_day_bounds(today - timedelta(days=29))[0]
    when = sa.func.coalesce(t.completed_at, t.created_at)
    sums = (sa.func.sum(sa.case((t.transaction_type == TransactionType.PAYMENT, t.amount), else_=0)),
            sa.func.sum(sa.case((t.transaction_type == TransactionType.REFUND, -t.amount), else_=0)))

    def between(a, b):
        return sa.or_(sa.and_(t.completed_at >= a, t.completed_at < b),
                      sa.and_(t.completed_at.is_(None), t.created_at >= a, t.created_at < b))

    def flows_from_rows():
        for key, join in ((t.channel_code, False), (PaymentOrder.payment_type, True)):
            q = sa.select(key, *sums)
            if join:
                q = q.join(PaymentOrder, PaymentOrder.id == t.payment_order_id)
            db.session.execute(q.where(t.status == TransactionStatus.SUCCESS, between(start, end)).group_by(key)).all()
        day = sa.cast(when, sa.Date)
        db.session.execute(sa.select(day, *sums).where(t.status == TransactionStatus.SUCCESS,
                                                        between(trend_start, end)).group_by(day)).all()

    out = {}
    with app.app_context():
        now = utcnow()
        assert overdue.overdue(now) == overdue.live(None, now), "stored overdue differs from the recount"
        out["flows: month by channel/type + trend, from rows"] = _timed(flows_from_rows, requests)
        out["flows: month + trend, stored day rows"] = _timed(
            lambda: money_flows.stored(min(today.replace(day=1), today - timedelta(days=29)), today), requests)
        out["overdue: counted in payment_orders"] = _timed(lambda: overdue.live(None, utcnow()), requests)
        out["overdue: stored deadline days + today live"] = _timed(lambda: overdue.overdue(utcnow()), requests)
        out["whole dashboard service (stored)"] = _timed(lambda: finance_dashboard(today), requests)
        db.session.remove()
    return out


def check_aggregates(env: dict) -> dict:
    """The stored rows against a full recomputation, after every measurement (and its time)."""
    from app import create_app
    from app.extensions import db
    from app.services.dashboards import overdue
    from app.services.ledgers import money_flows

    app = create_app()
    with app.app_context():
        t0 = time.perf_counter()
        flows = money_flows.differences()
        t1 = time.perf_counter()
        opens = overdue.differences()
        t2 = time.perf_counter()
        db.session.remove()
        db.engine.dispose()
    result = {"money_flow_days_differences": len(flows), "money_flow_days_check_s": round(t1 - t0, 1),
              "open_order_days_differences": len(opens), "open_order_days_check_s": round(t2 - t1, 1)}
    log(f"aggregates vs recomputation: money_flow_days {len(flows)} differences "
        f"({result['money_flow_days_check_s']} s), open_order_days {len(opens)} differences "
        f"({result['open_order_days_check_s']} s)")
    return result


def measure_screens(env: dict, engine, args: argparse.Namespace) -> dict:
    from app.extensions import db

    app, client, sql = order_list.signed_in_app(env, EMAIL, PASSWORD)
    head = (f"  {'case':<36} {'match':>7} {'p50':>7} {'p95':>7} {'max':>7} {'sql p50':>7} {'cpu p50':>7} "
            f"{'stmts':>5} {'busy':>5} {'bare p50':>8} {'bare p95':>8} {'exact50':>8} {'exact n':>8}")
    out: dict[str, list[dict]] = {"baseline": [], "dashboard": [], "transactions": []}

    log("baseline: GET /healthz (no session, no database)")
    r = _run_case(client, sql, "/healthz", "", args.requests, args.warmup, args.quiet_wait)
    r.pop("body")
    out["baseline"].append({"case": "/healthz", **r})
    log(f"  /healthz p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms")

    log("GET /finance as a finance user (ms at the server: whole view)")
    log(head)
    for name, query in dashboard_cases():
        r = _run_case(client, sql, "/finance", query, args.requests, args.warmup, args.quiet_wait)
        r.pop("body")
        out["dashboard"].append({"case": name, **r})
        log(f"  {name:<36} {'':>7} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['max_ms']:>7.1f} "
            f"{r['sql_p50_ms']:>7.1f} {r['python_cpu_p50_ms']:>7.1f} {r['statements']:>5} {r['machine_busy']:>5.0%}")

    log("GET /finance/transactions as a finance user; bare = search() + totals() alone, same filter")
    log(head)
    for name, query in transaction_cases(engine):
        r = _run_case(client, sql, "/finance/transactions", query, args.requests, args.warmup, args.quiet_wait)
        body = r.pop("body")
        bare = _bare_queries(app, query, args.requests, args.warmup)
        count = re.search(r'data-testid="txn-count">([\d,]+)(\+?)<', body)
        exact = _exact_totals(app, query, args.exact_requests)
        r = {"case": name, "matched": int(count.group(1).replace(",", "")) if count else None,
             "capped": bool(count and count.group(2)), "exact_count": exact["count"],
             "exact_totals_p50_ms": exact["p50_ms"], "exact_totals_p95_ms": exact["p95_ms"],
             "rows": len(re.findall(r'data-testid="txn-row"', body)), **r,
             "bare_p50_ms": bare["p50_ms"], "bare_p95_ms": bare["p95_ms"]}
        out["transactions"].append(r)
        matched = "?" if r["matched"] is None else f"{r['matched']:,}" + ("+" if r["capped"] else "")
        log(f"  {name:<36} {matched:>7} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['max_ms']:>7.1f} "
            f"{r['sql_p50_ms']:>7.1f} {r['python_cpu_p50_ms']:>7.1f} {r['statements']:>5} {r['machine_busy']:>5.0%} "
            f"{r['bare_p50_ms']:>8.1f} {r['bare_p95_ms']:>8.1f} {r['exact_totals_p50_ms']:>8.1f} "
            f"{r['exact_count']:>8,}")
    log("the dashboard's figures computed from the rows themselves (what /finance ran before), same run:")
    out["scan_baseline"] = _scan_baseline(app, args.exact_requests)
    for k, v in out["scan_baseline"].items():
        log(f"  {k:<48} p50 {v['p50_ms']:>7.1f} ms  p95 {v['p95_ms']:>7.1f} ms")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return out


# --- the batch file ------------------------------------------------------------------------------

def payee_rows(n: int) -> list[list[str]]:
    """n distinct, valid payees (every bank code, amounts 0.01..50,000.00 with cents)."""
    banks = ("ICBC", "ABC", "BOC", "CCB", "BOCOM", "CMB", "SPDB", "CITIC")
    return [[f"供应商{i:05d}", f"62220202{i:08d}", banks[i % len(banks)], f"{1 + (i * 7919) % 5_000_000 / 100:.2f}",
             f"货款 2026-11 第{i}笔"] for i in range(1, n + 1)]


def csv_file(rows: list[list[str]]) -> bytes:
    import csv
    import io

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(["收款人", "收款账号", "银行代码", "金额", "用途"])
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def xlsx_file(rows: list[list[str]]) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["bankAccountName", "bankAccountNo", "bankCode", "amount", "purpose"])
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def measure_batch(env: dict, rows: int, rounds: int) -> dict:
    os.environ.update(env)
    from app import create_app
    from app.extensions import db
    from app.services.payouts import batch_file, batch_rows, batches

    payees = payee_rows(rows)
    files = {"csv": csv_file(payees), "xlsx": xlsx_file(payees)}
    app = create_app()
    out: dict[str, Any] = {"rows": rows, "rounds": rounds, "target_s": BATCH_TARGET_S}
    with app.app_context():
        for kind, data in files.items():
            walls, cpus, reads = [], [], []
            for _ in range(rounds):
                c0, t0 = time.process_time(), time.perf_counter()
                checked = batches.check_file(MERCHANT, data)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                assert len(checked.rows) == rows and not checked.problems
                t0 = time.perf_counter()
                raw = batch_file.read(data)
                reads.append(time.perf_counter() - t0)
                assert len(raw.rows) == rows
            bad = bytearray(data) if kind == "csv" else None
            out[kind] = {"bytes": len(data), "p50_s": round(statistics.median(walls), 3),
                         "max_s": round(max(walls), 3), "cpu_p50_s": round(statistics.median(cpus), 3),
                         "read_p50_s": round(statistics.median(reads), 3)}
            if bad is not None:  # the same file with its last row's amount given three decimals: refused
                text = bytes(bad).decode("utf-8").rstrip("\r\n")
                last = text.rsplit("\r\n", 1)
                cells = last[1].split(",")
                cells[3] = "12.345"
                refused = (last[0] + "\r\n" + ",".join(cells) + "\r\n").encode("utf-8")
                t0 = time.perf_counter()
                try:
                    batches.check_file(MERCHANT, refused)
                    problems = 0
                except batches.BatchRefused as exc:
                    problems = len(exc.problems)
                out[kind]["one_bad_row_s"] = round(time.perf_counter() - t0, 3)
                out[kind]["one_bad_row_problems"] = problems
            log(f"  {kind:<5} {len(data) / 1024:>7.0f} kB  check_file p50 {out[kind]['p50_s']:.3f} s "
                f"(max {out[kind]['max_s']:.3f}, CPU {out[kind]['cpu_p50_s']:.3f}); of which reading "
                f"{out[kind]['read_p50_s']:.3f} s")
        t0 = time.perf_counter()
        raw = batch_file.read(files["csv"])
        batch_rows.check(raw, Decimal("500000.00"))
        out["csv_rules_only_s"] = round(time.perf_counter() - t0 - out["csv"]["read_p50_s"], 3)
        db.session.remove()
        db.engine.dispose()
    out["met"] = all(out[k]["max_s"] < BATCH_TARGET_S for k in files)
    return out


# --- main ----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"),
                    help="server to create the benchmark database on (its database name is ignored)")
    ap.add_argument("--db-name", default="bench_finance_desk", help="benchmark database (bench_finance_desk)")
    ap.add_argument("--keep", action="store_true", help="keep the database at the end (reused by the next run)")
    ap.add_argument("--reseed", action="store_true", help="seed again even if the database holds the data set")
    ap.add_argument("--orders", type=int, default=order_list.TOTAL, help="payment orders to seed (1,000,000)")
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"),
                    help="Redis of the rate limiter (default DB 1)")
    ap.add_argument("--requests", type=int, default=20, help="measured requests per case (default 20)")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured requests first (default 2)")
    ap.add_argument("--exact-requests", type=int, default=5,
                    help="timed runs of each same-run baseline from the rows (exact totals, dashboard scans; 5)")
    ap.add_argument("--batch-rows", type=int, default=BATCH_ROWS, help="rows of the batch file (10,000)")
    ap.add_argument("--batch-rounds", type=int, default=3, help="validations of each batch file (default 3)")
    ap.add_argument("--quiet-wait", type=float, default=5,
                    help="before each case, wait up to this many seconds for an idle machine (default 5; 0: never)")
    ap.add_argument("--output", default=str(RESULTS / "finance_desk.json"))
    args = ap.parse_args(argv)

    url = order_list.ensure_database(args.database_url, args.db_name)
    instance = tempfile.mkdtemp(prefix="bench-finance-")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis_url, "INSTANCE_PATH": instance,
           "RQ_QUEUE_PREFIX": "bench-finance-", "LOG_LEVEL": "WARNING"}
    status = 1
    try:
        engine, seed_s = prepare(args, env)
        with engine.connect() as conn:
            total = conn.execute(sa.text("SELECT count(*) FROM payment_orders")).scalar_one()
            txns = conn.execute(sa.text("SELECT count(*) FROM transactions")).scalar_one()
        log(f"data: {total:,} payment orders, {txns:,} transactions"
            + (f" (seeded in {seed_s:.0f} s)" if seed_s is not None else ""))
        screens = measure_screens(env, engine, args)
        checked = check_aggregates(env)
        log(f"batch payout file: {args.batch_rows:,} rows, payouts.batches.check_file x{args.batch_rounds}")
        batch = measure_batch(env, args.batch_rows, args.batch_rounds)
        dash_p95 = max(r["p95_ms"] for r in screens["dashboard"])
        txn_p95 = max(r["p95_ms"] for r in screens["transactions"])
        met = {"dashboard": dash_p95 < TARGET_MS, "transactions": txn_p95 < TARGET_MS, "batch": batch["met"],
               "aggregates_agree": not (checked["money_flow_days_differences"]
                                        or checked["open_order_days_differences"])}
        log(f"/finance worst p95 {dash_p95:.1f} ms, /finance/transactions worst p95 {txn_p95:.1f} ms "
            f"(target < {TARGET_MS:.0f}); batch {args.batch_rows:,} rows worst "
            f"{max(batch['csv']['max_s'], batch['xlsx']['max_s']):.2f} s (target < {BATCH_TARGET_S:.0f}): "
            + ", ".join(f"{k} {'MET' if v else 'NOT MET'}" for k, v in met.items()))
        RESULTS.mkdir(parents=True, exist_ok=True)
        result = {"target_ms": TARGET_MS, "met": met, "dashboard_worst_p95_ms": dash_p95,
                  "transactions_worst_p95_ms": txn_p95, "orders": total, "transactions": txns, "seed_s": seed_s,
                  "requests_per_case": args.requests, "warmup": args.warmup,
                  "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                  "load_average": list(os.getloadavg()), "machine": order_list.machine_info(engine),
                  "backfill": BACKFILL, "aggregates_check": checked, **screens, "batch": batch}
        Path(args.output).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        log(f"wrote {args.output}")
        engine.dispose()
        status = 0 if all(met.values()) else 1
    finally:
        if not args.keep:
            order_list.drop_database(args.database_url, args.db_name)
            log(f"dropped database {args.db_name} (--keep keeps it)")
    return status


if __name__ == "__main__":
    sys.exit(main())
