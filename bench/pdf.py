"""Benchmark: monthly statement PDFs (services/statements/document.py on the document pipeline).

    .venv/bin/python bench/pdf.py                      # 2,000-row statement vs plain table, 20,000-row statement
    .venv/bin/python bench/pdf.py --rows 2000 --big-rows 0 --rounds 3
    .venv/bin/python bench/pdf.py --statements 500     # month-end: 500 statements through the worker pool

Each case runs in a child process of its own (a fresh interpreter that builds the app), so its peak
RSS (``ru_maxrss``) is the case's alone:

- ``plain``: the statement's detail lines of the month, read and formatted once, as ONE plain HTML
  table (one row per line, the same eight columns and fonts), printed by one ``HTML(...).write_pdf()``
  — only the WeasyPrint call is timed;
- ``statement``: the real thing, timed around ``rendering.render(document_id)`` — the figures and
  lines read from the database, the templates, the parts of ``PART_LINES`` lines printed one by one
  and joined with pypdf, the page-number stamp, the SHA-256 and the store.

``ratio`` = statement seconds / plain seconds (target ≤ 1.2), on the CPU time of the child (the
median over ``--rounds``): on a shared machine wall time measures the neighbours as much as the
code; the wall-clock ratio is written beside it (``wall_ratio``). bench/results/pdf.json also has
the peak RSS of each case, the 20,000-row statement's time and peak RSS, page counts and sizes.

The data: a SQLite database (``--database-url`` for another) migrated to head, reseller R1001 with
half its lines orders created in March 2026 and half their payments (bulk inserts: the statement
reads rows, it does not care how they were made).

``--statements N`` (month-end): N resellers with a few lines each, ``python worker.py`` processes
(``--workers``, default 2) on all queues, the month-end job asks for every statement; meanwhile a
probe job on the ``high`` queue is enqueued every second and its wait (enqueue → start) is recorded —
what a payment refresh or compensation would wait behind the statements. Reports the run's time,
statements per minute and the probe's p50/max wait (``month_end`` in pdf.json). Run it niced.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
MONTH = "2026-03"
TARGET_RATIO = 1.2


def build_app(database_url: str, redis_url: str, prefix: str):
    from app import create_app

    return create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RQ_QUEUE_PREFIX": prefix,
                       "RATELIMIT_KEY_PREFIX": f"{prefix}limits"})


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- data ----------------------------------------------------------------------------------------

def seed(app, code: str, lines: int, start_at: datetime) -> int:
    """Reseller ``code`` with ``lines`` statement lines in March 2026: orders, and payments of half."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import PaymentOrder, PaymentTransaction, Reseller

    with app.app_context():
        r = Reseller(code=code, name=f"经销商 {code} 特种设备有限公司", status="ACTIVE", credit_limit=Decimal("0.00"),
                     credit_used=Decimal("0.00"), wallet_balance=Decimal("0.00"), credit_term_days=30,
                     credit_status="ACTIVE", approval_threshold=Decimal("1000000.00"), version=1)
        db.session.add(r)
        db.session.flush()
        rid = r.id
        orders_n = (lines + 1) // 2
        payments_n = lines - orders_n
        base_id = (db.session.scalar(sa.select(sa.func.max(PaymentOrder.id))) or 0) + 1
        base_txn = (db.session.scalar(sa.select(sa.func.max(PaymentTransaction.id))) or 0) + 1
        orders, txns = [], []
        for i in range(orders_n):
            at = start_at + timedelta(minutes=2 * i % (60 * 24 * 28))
            paid = Decimal("500.00") if i < payments_n else Decimal("0.00")
            amount = Decimal(1000 + i % 997) + Decimal("0.25")
            orders.append(dict(
                id=base_id + i, payment_id=f"PAY{code}{i:08d}", order_id=f"SO-{code}-{i:07d}", reseller_id=rid,
                payment_type="ADVANCE_PAYMENT" if i % 3 else "FINAL_PAYMENT", payment_amount=amount,
                paid_amount=paid, refunded_amount=Decimal("0.00"), reserved_amount=Decimal("0.00"),
                refunding_amount=Decimal("0.00"), currency="CNY",
                payment_status="PARTIAL_PAID" if paid else "UNPAID", refund_status="NO_REFUND",
                last_attempt_failed=False, last_refund_failed=False, payment_deadline=at + timedelta(days=10),
                business_desc="", priority=0, related_business_id="", related_business_type=None,
                business_expire_date=None, tags={}, created_by_client_id=None, version=1, created_at=at,
                updated_at=at))
            if paid:
                txns.append(dict(
                    id=base_txn + i, transaction_id=f"TXN{code}{i:010d}", payment_order_id=base_id + i,
                    order_id=f"SO-{code}-{i:07d}", reseller_id=rid, transaction_type="PAYMENT", status="SUCCESS",
                    amount=paid, refunded_amount=Decimal("0.00"), refunding_amount=Decimal("0.00"),
                    channel_code="ONLINE_UNIONPAY", channel_kind="ONLINE",
                    channel_transaction_id=f"BANK{i:012d}", created_at=at + timedelta(minutes=1),
                    completed_at=at + timedelta(minutes=1)))
        for chunk in range(0, len(orders), 5000):
            db.session.execute(sa.insert(PaymentOrder), orders[chunk:chunk + 5000])
        for chunk in range(0, len(txns), 5000):
            db.session.execute(sa.insert(PaymentTransaction), txns[chunk:chunk + 5000])
        db.session.commit()
        return rid


def migrated_database(directory: Path, url: str | None) -> str:
    url = url or f"sqlite:///{directory / 'bench_pdf.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    return url


# --- the children --------------------------------------------------------------------------------

PLAIN_HTML = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 16mm 14mm 18mm 14mm; }}
html {{ font-family: "Noto Sans CJK SC", "Noto Sans SC", "DejaVu Sans", sans-serif; font-size: 7.5pt; }}
table {{ width: 100%; border-collapse: collapse; }} td, th {{ border-bottom: 0.5pt solid #bbb; padding: 2pt 3pt; }}
</style></head><body><table><thead><tr><th>时间</th><th>类型</th><th>订单号</th><th>支付单号</th><th>说明</th>
<th>应付变动</th><th>退款</th><th>应付余额</th></tr></thead><tbody>{rows}</tbody></table></body></html>"""


def child_plain(app, reseller_id: int) -> dict:
    from markupsafe import escape
    from weasyprint import HTML

    from app.i18n import datetime_short, money
    from app.services.statements.lines import statement_lines
    from app.services.statements.period import Month

    with app.app_context():
        start, end = Month.parse(MONTH).bounds()
        rows = "".join(
            f"<tr><td>{datetime_short(x.at)}</td><td>{x.kind}</td><td>{escape(x.order_id)}</td>"
            f"<td>{x.payment_id}</td><td>{escape(x.detail)}</td><td>{money(x.owed_change)}</td>"
            f"<td>{money(x.refunded) if x.refunded else ''}</td><td>{money(x.balance)}</td></tr>"
            for x in statement_lines(reseller_id, start, end, Decimal("0.00")))
        html = PLAIN_HTML.format(rows=rows)
    started, cpu = time.perf_counter(), time.process_time()
    document = HTML(string=html).render()
    pdf = document.write_pdf()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3), "pages": len(document.pages),
            "bytes": len(pdf or b""), "peak_rss_mb": peak_rss_mb()}


def child_statement(app, reseller_id: int) -> dict:
    import sqlalchemy as sa
    from pypdf import PdfReader

    from app.extensions import db
    from app.models import Document
    from app.services.documents import rendering, storage
    from app.services.platform.actor import Actor
    from app.services.platform.queues import queue
    from app.services.statements.document import request_now
    from app.services.statements.period import Month

    with app.app_context():
        number = request_now(Actor(type="system", id="bench"), reseller_id, Month.parse(MONTH))
        doc_id = db.session.scalar(sa.select(Document.id).where(Document.number == number))
        db.session.rollback()
        queue("documents").empty()  # rendered here, not by a worker
        started, cpu = time.perf_counter(), time.process_time()
        result = rendering.render(doc_id)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        doc = db.session.get_one(Document, doc_id)
        if doc.state != "READY":
            raise SystemExit(f"statement not READY: {doc.state} {doc.failure_reason}")
        import io
        pages = len(PdfReader(io.BytesIO(storage.content(doc))).pages)
        return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3), "pages": pages,
                "bytes": doc.size_bytes, "peak_rss_mb": peak_rss_mb(), "render": result}


def run_child(case: str, args, reseller_id: int) -> dict:
    cmd = [sys.executable, __file__, "--child", case, "--child-reseller", str(reseller_id),
           "--database-url", args.database_url, "--redis-url", args.redis_url]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{case} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- month-end -----------------------------------------------------------------------------------

def month_end(args, app, directory: Path) -> dict:
    """N resellers, worker processes, the month-end job; a probe on ``high`` every second."""
    import sqlalchemy as sa
    from rq import Queue
    from rq.serializers import JSONSerializer

    from app.extensions import db
    from app.models import Document
    from app.services.platform.queues import queue, redis_connection
    from app.services.statements import schedule

    base = datetime(2026, 3, 2, 1, tzinfo=UTC)
    for i in range(args.statements):
        seed(app, f"M{i:04d}", args.month_end_lines, base + timedelta(minutes=i))
    prefix = app.config["RQ_QUEUE_PREFIX"]
    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "RQ_QUEUE_PREFIX": prefix}
    workers = [subprocess.Popen(["nice", "-n", "10", sys.executable, "worker.py", "--queues",
                                 "high,default,low,documents"], cwd=ROOT, env=env,
                                stdout=open(directory / f"worker{i}.log", "w"), stderr=subprocess.STDOUT)
               for i in range(args.workers)]
    waits: list[float] = []
    try:
        time.sleep(3)
        started = time.perf_counter()
        with app.app_context():
            asked = schedule.render_last_month(datetime(2026, 4, 1, 1, tzinfo=UTC))
            high = queue("high")
            pending = []
            while True:
                counts = dict(db.session.execute(sa.select(Document.state, sa.func.count())
                                                 .where(Document.doc_type == "STATEMENT")
                                                 .group_by(Document.state)).all())
                db.session.rollback()
                job = high.enqueue("app.jobs.maintenance.purge_idempotency_keys", result_ttl=600)
                pending.append(job)
                for j in list(pending):
                    j.refresh()
                    if j.started_at is not None and j.enqueued_at is not None:
                        waits.append((j.started_at - j.enqueued_at).total_seconds())
                        pending.remove(j)
                done = counts.get("READY", 0) + counts.get("FAILED", 0)
                if done >= args.statements:
                    break
                if time.perf_counter() - started > args.month_end_timeout:
                    raise SystemExit(f"month-end did not finish: {counts}")
                time.sleep(1)
            seconds = time.perf_counter() - started
            failed = counts.get("FAILED", 0)
            Queue(prefix + "documents", connection=redis_connection(), serializer=JSONSerializer).empty()
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(30)
    waits.sort()
    return {"statements": args.statements, "lines_each": args.month_end_lines, "workers": args.workers,
            "asked": asked, "seconds": round(seconds, 1), "per_minute": round(args.statements / seconds * 60, 1),
            "failed": failed, "probe_jobs": len(waits),
            "probe_wait_p50_s": round(waits[len(waits) // 2], 3) if waits else None,
            "probe_wait_max_s": round(waits[-1], 3) if waits else None}


# --- main ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--big-rows", type=int, default=20000, help="0: skip the long statement")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--statements", type=int, default=0, help="month-end: this many statements")
    parser.add_argument("--month-end-lines", type=int, default=40)
    parser.add_argument("--month-end-timeout", type=float, default=3600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"))
    parser.add_argument("--child", choices=("plain", "statement"))
    parser.add_argument("--child-reseller", type=int)
    args = parser.parse_args()

    if args.child:
        app = build_app(args.database_url, args.redis_url, f"bench-pdf-{uuid.uuid4().hex[:6]}-")
        fn = child_plain if args.child == "plain" else child_statement
        print(json.dumps(fn(app, args.child_reseller)))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as tmp:
        directory = Path(tmp)
        args.database_url = migrated_database(directory, args.database_url)
        app = build_app(args.database_url, args.redis_url, f"bench-pdf-{uuid.uuid4().hex[:6]}-")
        start = datetime(2026, 2, 28, 17, tzinfo=UTC)  # 1 March 01:00 in Shanghai
        results: dict = {"rows": args.rows, "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
        if args.rows:
            rid = seed(app, "R2000", args.rows, start)
            plain, statement = [], []
            for _ in range(args.rounds):
                plain.append(run_child("plain", args, rid))
                statement.append(run_child("statement", args, rid))
                print(f"plain {plain[-1]}\nstatement {statement[-1]}", flush=True)
            p = sorted(x["cpu_seconds"] for x in plain)[len(plain) // 2]
            s = sorted(x["cpu_seconds"] for x in statement)[len(statement) // 2]
            pw = sorted(x["seconds"] for x in plain)[len(plain) // 2]
            sw = sorted(x["seconds"] for x in statement)[len(statement) // 2]
            results.update(plain=plain, statement=statement, plain_seconds=p, statement_seconds=s,
                           ratio=round(s / p, 3), target_ratio=TARGET_RATIO, ratio_basis="CPU seconds (median)",
                           plain_wall_seconds=pw, statement_wall_seconds=sw, wall_ratio=round(sw / pw, 3),
                           plain_peak_rss_mb=max(x["peak_rss_mb"] for x in plain),
                           statement_peak_rss_mb=max(x["peak_rss_mb"] for x in statement))
        if args.big_rows:
            rid = seed(app, "R20K", args.big_rows, start)
            big = run_child("statement", args, rid)
            print(f"big statement {big}", flush=True)
            results["big"] = {"rows": args.big_rows, **big}
        if args.statements:
            results["month_end"] = month_end(args, app, directory)
            print(f"month-end {results['month_end']}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / "pdf.json"
    previous = json.loads(target.read_text()) if target.exists() else {}
    if not args.rows and "ratio" in previous:  # a month-end-only run keeps the last ratio run's figures
        previous.update(results)
        results = previous
    target.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps({k: results.get(k) for k in ("ratio", "plain_seconds", "statement_seconds", "plain_peak_rss_mb",
                                                    "statement_peak_rss_mb", "big", "month_end")}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
