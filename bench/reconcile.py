"""Benchmark: import and reconcile one ONLINE channel's daily statement (issue 13).

    nice -n 10 .venv/bin/python bench/reconcile.py                      # PostgreSQL, 1,000,000 lines
    nice -n 10 .venv/bin/python bench/reconcile.py --sqlite             # SQLite file, 100,000 lines
    .venv/bin/python bench/reconcile.py --lines 200000 --database-url postgresql://postgres@db:5432/postgres

Targets (issue 13, "Done means"): on PostgreSQL a statement of 1,000,000 lines against 1,000,000
channel payments imported and matched in under 20 s with the worker's peak RSS under 500 MB,
compared in the same run with the floor (bulk-loading the same file with ``COPY`` plus one join
query); on SQLite (the embedded default) 100,000 lines in under 20 s.

What it does (see bench/README.md):

1. creates a fresh database (``bench_recon_<random>`` on the server of ``--database-url``, or a
   SQLite file with ``--sqlite``), migrates it to head and seeds, set-based (``generate_series`` on
   PostgreSQL, a recursive CTE on SQLite), one reseller, the channel ``ONLINE_UNIONPAY`` and
   ``--lines`` channel payments of it (each with its merged payment), all SUCCESS and completed on
   the statement's day (Asia/Shanghai), then ANALYZE;
2. writes the gateway's statement CSV for that day (the sandbox's header and format, see
   sandbox/gateway.py): one line per payment, with differences of every class the matching finds
   spread through it — 1 in 1,000 lines changes the amount (AMOUNT_MISMATCH), 1 in 1,000 reports
   FAILED (STATUS_MISMATCH), 1 in 1,000 names an order we never sent (MISSING_IN_SYSTEM) in place
   of ours (whose payment is then MISSING_IN_CHANNEL), 1 in 1,000 is followed by a copy of itself
   (DUPLICATE); the file holds exactly ``--lines`` lines;
3. **floor**, in this process: the same file bulk-loaded with ``COPY ... FROM STDIN (FORMAT csv)``
   into a plain table of the file's columns, then ONE join query that classifies every line against
   the channel payments (``LEFT JOIN ... GROUP BY`` class) — what the database alone needs to read the
   file and look every line up; on SQLite (no COPY) ``executemany`` of the csv module's rows in one
   transaction, then the same query. Run before and after the real run; ``floor_seconds`` is the mean;
4. **the real path** in a child process, worker-like (``create_app()``, an app context): from the
   CSV file to the finished run — the ONLINE adapter's parser (``statement_lines``, the one
   ``fetch_statement`` uses), ``statement_import.import_statement`` (streamed, fingerprinted,
   idempotent) and ``runs.reconcile`` (settlement candidates, the set-based classification, the
   figures, the exceptions, audit and outbox), timed from the file's opening to the run's commit,
   app start-up excluded; its peak RSS is the child's ``ru_maxrss`` (the whole process: the app
   included). Every SQL statement's time is recorded (SQLAlchemy cursor events; the COPY is timed
   as the import) for the profile;
5. checks the run's figures against what the file was written with (any disagreement invalidates
   the run: exit 1), prints the figures and the profile, writes bench/results/reconcile.json
   (``lines``, ``seconds``, ``peak_rss_mb``, ``floor_seconds``, ``ratio_to_floor``, plus details) and
   drops the database unless ``--keep``.

The machine is shared: the load average before and after is printed and stored; the floor is
measured in the same run, so the ratio is the figure to compare.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import order_list  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGET_SECONDS = 20.0
TARGET_RSS_MB = 500.0
CHANNEL = "ONLINE_UNIONPAY"
EVERY = 1000  # one difference of each kind per EVERY lines
DAY = date(2026, 11, 30)
log = order_list.log


# --- data ----------------------------------------------------------------------------------------

def _numbers(dialect: str, n: int) -> str:
    if dialect == "postgresql":
        return f"generate_series(1, {n}) AS s(g)"
    return f"(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n}) SELECT g FROM s) AS s"


def amount_of(g: int) -> str:
    """The amount of payment ``g`` as the seed writes it (SQL below) and the statement reports it."""
    return f"{100 + (g * 7919) % 900000 / 100:.2f}"


def seed(engine: sa.engine.Engine, n: int) -> int:
    """One reseller, the channel, ``n`` SUCCESS channel payments completed on DAY. Returns the channel's id."""
    dialect = engine.dialect.name
    day_start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) - timedelta(hours=8)  # 00:00 in Shanghai
    if dialect == "postgresql":
        at = f"(TIMESTAMPTZ '{day_start.isoformat()}' + (g * 86000.0 / {n}) * interval '1 second')"
        amount = "round((100 + (g::bigint * 7919) % 900000 / 100.0)::numeric, 2)"
        now = "now()"
    else:  # SQLite stores UTC datetimes naive, as text (app/models/types.py)
        at = (f"(strftime('%Y-%m-%d %H:%M:%S', '{day_start.strftime('%Y-%m-%d %H:%M:%S')}', "
              f"'+' || (g * 86000 / {n}) || ' seconds') || '.000000')")
        amount = "round(100 + ((g * 7919) % 900000) / 100.0, 2)"
        now = "(strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000')"
    with engine.begin() as conn:
        if dialect == "postgresql":
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
        conn.execute(sa.text(
            f"""INSERT INTO resellers (code, name, status, credit_limit, credit_used, credit_term_days, credit_status,
                    approval_threshold, wallet_balance, version, created_at, updated_at)
                VALUES ('R1001', '经销商 1001', 'ACTIVE', 5000000, 0, 30, 'ACTIVE', 1000000, 0, 1, {now}, {now})"""))
        rid = conn.execute(sa.text("SELECT id FROM resellers WHERE code = 'R1001'")).scalar_one()
        conn.execute(sa.text(
            f"""INSERT INTO channels (code, name, name_en, kind, enabled, min_amount, supports_refund,
                   supports_partial_refund, confirm_timeout_seconds, expire_seconds, available_to_all, config,
                   sort_order, created_at, updated_at)
               VALUES ('{CHANNEL}', '银联在线', 'UnionPay online', 'ONLINE', true, 0.01, true, true, 900, 86400, true,
                       '{{}}', 0, {now}, {now})"""))
        cid = conn.execute(sa.text(f"SELECT id FROM channels WHERE code = '{CHANNEL}'")).scalar_one()
        log(f"  seeding {n:,} merged payments ...")
        conn.execute(sa.text(
            f"""INSERT INTO merged_payments (id, merged_payment_id, reseller_id, status, total_amount, created_at,
                    updated_at, completed_at)
                SELECT g, 'MP' || g, {rid}, 'SUCCEEDED', {amount}, {at}, {at}, {at} FROM {_numbers(dialect, n)}"""))
        log(f"  seeding {n:,} channel payments ...")
        conn.execute(sa.text(
            f"""INSERT INTO channel_payments (id, channel_payment_id, merged_payment_id, channel_id, channel_code,
                    channel_kind, amount, status, channel_transaction_id, created_at, updated_at, completed_at)
                SELECT g, 'CP' || g, g, {cid}, '{CHANNEL}', 'ONLINE', {amount}, 'SUCCESS', 'GW' || g, {at}, {at}, {at}
                FROM {_numbers(dialect, n)}"""))
        if dialect == "postgresql":
            for table in ("merged_payments", "channel_payments"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n})"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
    return cid


def write_statement(path: Path, n: int) -> dict[str, int]:
    """The gateway's CSV for DAY with ``n`` lines; returns the counts per class the run must find."""
    expect = {"MATCHED": 0, "AMOUNT_MISMATCH": 0, "STATUS_MISMATCH": 0, "MISSING_IN_SYSTEM": 0,
              "MISSING_IN_CHANNEL": 0, "DUPLICATE": 0}
    day_start = datetime(DAY.year, DAY.month, DAY.day)
    written, g = 0, 0
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["gatewayTxnId", "merchantOrderNo", "type", "amount", "status", "completedAt"])
        while written < n:
            g += 1
            when = (day_start + timedelta(seconds=int(g * 86000 / n))).isoformat() + "+08:00"
            row = [f"GW{g}", f"CP{g}", "payment", amount_of(g), "SUCCESS", when]
            kind = g % EVERY
            if kind == 1:
                row[3] = f"{float(row[3]) + 1:.2f}"
                expect["AMOUNT_MISMATCH"] += 1
            elif kind == 2:
                row[4] = "FAILED"
                expect["STATUS_MISMATCH"] += 1
            elif kind == 3:
                row[0], row[1] = f"GWX{g}", f"CPX{g}"
                expect["MISSING_IN_SYSTEM"] += 1
                expect["MISSING_IN_CHANNEL"] += 1
            else:
                expect["MATCHED"] += 1
            w.writerow(row)
            written += 1
            if kind == 4 and written < n:
                w.writerow(row)
                written += 1
                expect["DUPLICATE"] += 1
    # the payments the file never reached (none unless duplicates pushed them out) are missing in the channel
    expect["MISSING_IN_CHANNEL"] += n - g if g < n else 0
    expect["_payments_listed"] = g
    return expect


# --- the floor -----------------------------------------------------------------------------------

FLOOR_QUERY = """
SELECT CASE WHEN cp.id IS NULL THEN 'MISSING_IN_SYSTEM'
            WHEN l.status = 'SUCCESS' AND cp.status = 'SUCCESS' AND cp.amount = l.amount THEN 'MATCHED'
            WHEN l.status = 'SUCCESS' AND cp.status = 'SUCCESS' THEN 'AMOUNT_MISMATCH'
            ELSE 'STATUS_MISMATCH' END AS cls, count(*)
FROM bench_floor_lines l
LEFT JOIN channel_payments cp ON cp.channel_id = :cid AND cp.channel_payment_id = l.merchant_order_no
GROUP BY 1"""


def floor(engine: sa.engine.Engine, path: Path, cid: int) -> tuple[float, dict[str, int]]:
    """Bulk-load the file plus one join query: seconds and the join's counts."""
    dialect = engine.dialect.name
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_floor_lines"))
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE bench_floor_lines (gateway_txn_id varchar(64), merchant_order_no varchar(64), "
            "type varchar(12), amount numeric(15, 2), status varchar(12), completed_at "
            + ("timestamptz)" if dialect == "postgresql" else "datetime)")))
        if dialect == "postgresql":
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy("COPY bench_floor_lines FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                    path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
        else:
            with path.open(newline="") as f:
                rows = csv.reader(f)
                next(rows)
                conn.connection.driver_connection.executemany(
                    "INSERT INTO bench_floor_lines VALUES (?, ?, ?, ?, ?, ?)", rows)
        counts = {cls: int(c) for cls, c in conn.execute(sa.text(FLOOR_QUERY), {"cid": cid})}
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE bench_floor_lines"))
    return seconds, counts


# --- the real path, in a worker-like child ---------------------------------------------------------

def child(path: str, channel_id: int, out: str) -> None:
    from app import create_app
    from app.channels.online import statement_lines
    from app.domain.enums import StatementSource
    from app.extensions import db
    from app.services.reconciliation import runs
    from app.services.reconciliation.lines import Line
    from app.services.reconciliation.statement_import import import_statement

    app = create_app()
    statements: dict[str, list[float]] = {}
    with app.app_context():
        engine = db.engine

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            conn.info["bench_t0"] = time.perf_counter()

        @sa.event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            key = " ".join(statement.split())[:160]
            entry = statements.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - conn.info.pop("bench_t0")

        db.session.execute(sa.text("SELECT 1"))  # connect before the clock starts, as a running worker is
        db.session.rollback()
        cpu0, t0 = time.process_time(), time.perf_counter()
        with open(path, newline="") as f:
            lines = (Line(line_type=x.type, channel_transaction_id=x.channel_transaction_id,
                          reference=x.channel_payment_no, amount=x.amount, status=x.status,
                          completed_at=x.completed_at) for x in statement_lines(f))
            imported = import_statement(channel_id, CHANNEL, DAY, StatementSource.GATEWAY, lines, runs.RECONCILIATION)
        db.session.rollback()
        t1 = time.perf_counter()
        run_id = runs.reconcile(channel_id, DAY, imported.import_id)
        t2 = time.perf_counter()
        cpu = time.process_time() - cpu0
        run = runs.run_for(channel_id, DAY)
        figures = dict(run.figures) if run else {}
        db.session.rollback()
    profile = sorted(({"sql": k, "calls": v[0], "seconds": round(v[1], 3)} for k, v in statements.items()),
                     key=lambda x: -x["seconds"])[:12]
    Path(out).write_text(json.dumps({
        "import_id": imported.import_id, "created": imported.created, "lines": imported.lines, "run_id": run_id,
        "import_seconds": round(t1 - t0, 3), "reconcile_seconds": round(t2 - t1, 3),
        "seconds": round(t2 - t0, 3), "cpu_seconds": round(cpu, 3), "figures": figures,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sql_profile": profile}, default=str))


def run_child(env: dict, path: Path, cid: int) -> dict:
    out = Path(tempfile.mkstemp(prefix="bench-recon-", suffix=".json")[1])
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", str(path), "--channel-id", str(cid),
                           "--child-out", str(out)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        log(proc.stderr[-4000:])
        raise SystemExit(f"the worker process failed ({proc.returncode})")
    result = json.loads(out.read_text())
    out.unlink()
    result["process_wall_seconds"] = round(wall, 2)
    # the child's peak as the parent sees it (the largest child so far: this is the only big one)
    result["peak_rss_mb_rusage_children"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return result


# --- main ----------------------------------------------------------------------------------------

def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--sqlite", action="store_true", help="a fresh SQLite file instead (default 100,000 lines)")
    ap.add_argument("--lines", type=int, help="statement lines = channel payments (default 1,000,000; SQLite 100,000)")
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"))
    ap.add_argument("--keep", action="store_true", help="keep the database (and print its URL)")
    ap.add_argument("--output", help="default bench/results/reconcile.json (reconcile_sqlite.json with --sqlite)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--channel-id", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.channel_id, args.child_out)
        return 0

    n = args.lines or (100_000 if args.sqlite else 1_000_000)
    work = Path(tempfile.mkdtemp(prefix="bench-recon-"))
    name = f"bench_recon_{secrets.token_hex(4)}"
    if args.sqlite:
        url = f"sqlite:///{work / 'portal.db'}"
    else:
        url = order_list.ensure_database(args.database_url, name)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis_url, "INSTANCE_PATH": str(work),
           "RQ_QUEUE_PREFIX": f"bench-recon-{secrets.token_hex(3)}-", "LOG_LEVEL": "WARNING"}
    engine = sa.create_engine(order_list.sa_url(url) if not args.sqlite else url)
    try:
        load_before = load()
        log(f"load average {load_before}; database {'SQLite ' + url if args.sqlite else name}; {n:,} lines")
        order_list.migrate(env)
        t = time.perf_counter()
        cid = seed(engine, n)
        log(f"seeded {n:,} channel payments in {time.perf_counter() - t:.1f} s")
        path = work / "statement.csv"
        expect = write_statement(path, n)
        log(f"statement: {path.stat().st_size / 1e6:.1f} MB, {n:,} lines")

        floor_before, floor_counts = floor(engine, path, cid)
        log(f"floor (before): {floor_before:.2f} s  {floor_counts}")
        real = run_child(env, path, cid)
        log(f"real path: {real['seconds']:.2f} s (import {real['import_seconds']:.2f} + reconcile "
            f"{real['reconcile_seconds']:.2f}), CPU {real['cpu_seconds']:.2f} s, peak RSS {real['peak_rss_mb']:.0f} MB")
        floor_after, _ = floor(engine, path, cid)
        log(f"floor (after): {floor_after:.2f} s")
        load_after = load()

        problems = []
        figures = real["figures"]
        for cls, count in expect.items():
            if cls.startswith("_"):
                continue
            got = figures.get(cls, {}).get("count")
            if got != count:
                problems.append(f"{cls}: run {got}, written {count}")
        if real["lines"] != n:
            problems.append(f"lines imported {real['lines']}, written {n}")
        with engine.connect() as conn:
            exceptions = conn.execute(sa.text("SELECT count(*) FROM recon_exceptions WHERE run_id = :r"),
                                      {"r": real["run_id"]}).scalar_one()
        want_exceptions = sum(v for k, v in expect.items() if k not in ("MATCHED", "_payments_listed"))
        if exceptions != want_exceptions:
            problems.append(f"exceptions {exceptions}, expected {want_exceptions}")

        floor_seconds = (floor_before + floor_after) / 2
        seconds = real["seconds"]
        ratio = seconds / floor_seconds
        met = seconds < TARGET_SECONDS and (args.sqlite or real["peak_rss_mb"] < TARGET_RSS_MB)
        log("")
        log(f"lines {n:,}: {seconds:.2f} s (target < {TARGET_SECONDS:.0f} s), peak RSS {real['peak_rss_mb']:.0f} MB "
            f"(target < {TARGET_RSS_MB:.0f} MB), floor {floor_seconds:.2f} s, ratio_to_floor {ratio:.2f}; "
            f"load {load_before} -> {load_after}: {'MET' if met else 'NOT MET'}")
        log("where the seconds go (SQL statements by time; the COPY is inside the import's time):")
        for p in real["sql_profile"][:8]:
            log(f"  {p['seconds']:7.2f} s  x{p['calls']:<5} {p['sql'][:110]}")
        if problems:
            log("INVALID RUN: " + "; ".join(problems))

        RESULTS.mkdir(parents=True, exist_ok=True)
        output = Path(args.output or RESULTS / ("reconcile_sqlite.json" if args.sqlite else "reconcile.json"))
        result = {
            "lines": n, "seconds": round(seconds, 2), "peak_rss_mb": real["peak_rss_mb"],
            "floor_seconds": round(floor_seconds, 2), "ratio_to_floor": round(ratio, 2),
            "met": met, "valid": not problems, "problems": problems,
            "database": "sqlite" if args.sqlite else "postgresql",
            "target_seconds": TARGET_SECONDS, "target_rss_mb": None if args.sqlite else TARGET_RSS_MB,
            "floor_runs_seconds": [round(floor_before, 2), round(floor_after, 2)], "floor_counts": floor_counts,
            "expected": expect, "run": real, "load_before": load_before, "load_after": load_after,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        }
        output.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
        log(f"wrote {output}")
        return 1 if problems or not met else 0
    finally:
        engine.dispose()
        if args.keep:
            log(f"kept {url}")
        elif not args.sqlite:
            order_list.drop_database(args.database_url, name)


if __name__ == "__main__":
    sys.exit(main())
