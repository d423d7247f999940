"""Benchmark: gateway callbacks settled per second, merged payments of 10 orders, and the latency from
callback to settled, against a bare signed-callback endpoint in the same run.

    .venv/bin/python bench/callbacks.py                        # 2,000 merged payments (20,000 orders), 2 rounds
    .venv/bin/python bench/callbacks.py --payments 4000 --connections 16 --server granian

1. creates a fresh PostgreSQL database (``--database-url``), migrates it, creates reseller R1001 and
   channel ONLINE_UNIONPAY on a sandbox gateway (sandbox/), then — before anything is timed — makes
   ``--payments`` merged payments of ``--orders`` (10) orders each THROUGH THE REAL SERVICES
   (bench/online_payments.py: the order service, then one checkout per merged payment, which
   reserves, allocates and asks the gateway for the pay page); the gateway is stopped after;
2. starts the HTTP server (``--server``, bench/servers.py; ``bench.wsgi:app``: the portal, and the
   baselines under /baseline);
3. in each of ``--rounds`` rounds, for its share of the payments: signs one SUCCESS callback per
   merged payment as the gateway would (``X-Gateway-Signature``), and sends them from a separate
   process (bench/loadgen.py --requests-file: ``--connections`` keep-alive connections, each
   callback exactly once, per-request latency) first to the **bare signed-callback endpoint**
   (``/baseline/callback/online/ONLINE_UNIONPAY``: verify, parse, answer; no database), then to the
   **real endpoint** (``/api/v1/payment/callback/online/ONLINE_UNIONPAY``), which answers
   ``success`` only after the settlement of all 10 orders has committed: the request's latency is
   the callback-to-settled latency;
   Before the rounds, ``--warmup-payments`` (60) more merged payments are settled the same way,
   untimed (each worker's first settlements load code and fill caches);
4. checks the database: every order of the merged payments is PAID once — paid amount equal to its
   amount, exactly one SUCCESS payment transaction, one ``transaction.succeeded`` event per
   transaction, one channel event per callback, each merged payment SUCCEEDED — and the stored money
   flows equal a recomputation (no ledger row counted twice); any miss makes the run invalid (exit 1);
5. prints callbacks/s (= merged payments settled per second), orders settled per second, p50/p90/p99,
   the CPU per callback of the server, PostgreSQL, Redis and the load generator, and writes
   bench/results/callbacks.json. Goal: >= 500 callbacks/s and p99 < 100 ms (exit 2 with
   ``--check-target`` when missed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import servers as http_servers  # noqa: E402
from bench.create_order import (  # noqa: E402
    ForeignLoad,
    _pids_named,
    _tree,
    create_database,
    drop_or_keep_database,
    free_port,
    log,
    loud,
    machine_info,
    sa_url,
    wait_for_quiet,
    write_results,
)
from bench.online_payments import CALLBACK_PATH, CHANNEL  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BARE_PATH = f"/baseline/callback/online/{CHANNEL}"
GOAL_RPS, GOAL_P99_MS = 500, 100


def prepare(env: dict, payments: int, orders: int) -> list:
    subprocess.run([str(http_servers.VENV_BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.environ.update(env)
    from app import create_app
    from app.extensions import db
    from app.services.accounts import resellers
    from app.services.platform.actor import Actor
    from bench import online_payments
    from sandbox.testing import start_sandbox

    app = create_app()
    gateway = start_sandbox()
    try:
        with app.app_context():
            resellers.upsert_reseller(Actor(type="system", id="bench"), "R1001",
                                      resellers.ResellerChanges(name="Bench Reseller R1001"))
            db.session.commit()
            online_payments.add_online_channel(gateway.base_url)
            t0 = time.perf_counter()
            made = online_payments.make_merged_payments(
                "R1001", payments, orders, "100.00", "CB",
                progress=lambda n: log(f"  {n} merged payments made ({time.perf_counter() - t0:.0f} s)"))
            log(f"prepared {len(made)} merged payments of {orders} orders in {time.perf_counter() - t0:.0f} s")
            db.session.remove()
            db.engine.dispose()
    finally:
        gateway.stop()
    return made


def write_callbacks(path: Path, chunk: list, target: str, tag: str) -> None:
    from bench import online_payments

    rows = []
    for p in chunk:
        body, sig = online_payments.callback_request(p, f"ev-{tag}-{p.channel_payment_no}")
        rows.append(("POST", target, body, {"Content-Type": "application/json", "X-Gateway-Signature": sig}))
    online_payments.write_requests_file(path, rows)


def send(base: str, path: Path, connections: int, groups) -> dict:
    cmd = [sys.executable, "-m", "bench.loadgen", "--url", base, "--requests-file", str(path), "--expected", "200",
           "--connections", str(connections), "--duration", "600"]
    with ForeignLoad(groups) as load:
        gen = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    m = re.search(r"^WRK_RESULT (.*)$", gen.stdout, re.M)
    if gen.returncode != 0 or not m:
        raise RuntimeError(f"load generator failed ({gen.returncode}):\n{gen.stdout}\n{gen.stderr}")
    r = json.loads(m.group(1))
    se = r["socket_errors"]
    r["errors"] = r["bad"] + se["connect"] + se["read"] + se["write"] + se["timeout"]
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    tick = os.sysconf("SC_CLK_TCK")
    r["cpu_ms_per_request"] = {g: round(j / tick * 1000 / max(1, r["requests"]), 3) for g, j in load.jiffies.items()}
    r["machine_busy"] = round(load.machine_busy, 3)
    r["foreign_cpu"] = round(load.foreign, 3)
    return r


SETTLED_SQL = {
    "orders": "SELECT count(*) FROM payment_orders WHERE order_id LIKE 'CB-%'",
    "orders_paid_in_full": """SELECT count(*) FROM payment_orders WHERE order_id LIKE 'CB-%'
        AND payment_status = 'PAID' AND paid_amount = payment_amount AND reserved_amount = 0""",
    "orders_with_one_success": """SELECT count(*) FROM payment_orders o WHERE o.order_id LIKE 'CB-%' AND (
        SELECT count(*) FROM transactions t WHERE t.payment_order_id = o.id AND t.transaction_type = 'PAYMENT'
        AND t.status = 'SUCCESS') = 1""",
    "orders_paid_sum_matches": """SELECT count(*) FROM payment_orders o WHERE o.order_id LIKE 'CB-%'
        AND o.paid_amount = (SELECT coalesce(sum(t.amount), 0) FROM transactions t WHERE t.payment_order_id = o.id
        AND t.transaction_type = 'PAYMENT' AND t.status = 'SUCCESS')""",
    "success_transactions": """SELECT count(*) FROM transactions
        WHERE transaction_type = 'PAYMENT' AND status = 'SUCCESS'""",
    "succeeded_events": "SELECT count(*) FROM outbox_events WHERE event_type = 'transaction.succeeded'",
    "succeeded_events_distinct": """SELECT count(DISTINCT aggregate_id) FROM outbox_events
        WHERE event_type = 'transaction.succeeded'""",
    "channel_events": "SELECT count(*) FROM channel_events WHERE kind = 'payment'",
    "channel_payments_success": "SELECT count(*) FROM channel_payments WHERE status = 'SUCCESS'",
    "merged_payments": "SELECT count(*) FROM merged_payments",
    "merged_payments_success": "SELECT count(*) FROM merged_payments WHERE status = 'SUCCEEDED'",
}


def verify_settled(engine, env: dict, payments: int, orders: int) -> tuple[bool, dict]:
    with engine.connect() as conn:
        got = {k: conn.execute(sa.text(q)).scalar_one() for k, q in SETTLED_SQL.items()}
    n = payments * orders
    want = {"orders": n, "orders_paid_in_full": n, "orders_with_one_success": n, "orders_paid_sum_matches": n,
            "success_transactions": n, "succeeded_events": n, "succeeded_events_distinct": n,
            "channel_events": payments, "channel_payments_success": payments, "merged_payments": payments,
            "merged_payments_success": payments}
    os.environ.update(env)
    from app import create_app
    from app.extensions import db
    from app.services.ledgers import money_flows

    app = create_app()
    with app.app_context():
        diffs = money_flows.differences()
        flows = db.session.execute(sa.text(
            "SELECT coalesce(sum(received), 0), coalesce(sum(payments), 0) FROM money_flow_days")).one()
        db.session.remove()
        db.engine.dispose()
    ok = all(got[k] == v for k, v in want.items()) and not diffs
    log("Database check after the run:")
    for k, v in want.items():
        log(f"  {k:<27} {got[k]:>8}  {'ok' if got[k] == v else f'MISMATCH (want {v})'}")
    log(f"  money_flow_days vs recomputation: {len(diffs)} differences; received {flows[0]} in {flows[1]} payments"
        f" (want {n * 100}.00 in {n})")
    ok &= str(flows[0]) in (f"{n * 100}.00", f"{n * 100}") and int(flows[1]) == n
    return ok, {**got, "money_flow_differences": len(diffs), "flows_received": str(flows[0]),
                "flows_count": int(flows[1])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--payments", type=int, default=2000, help="merged payments (default 2,000)")
    ap.add_argument("--orders", type=int, default=10, help="orders per merged payment (default 10)")
    ap.add_argument("--rounds", type=int, default=2, help="the payments are settled in this many rounds, each "
                    "after a bare-baseline run of the same callbacks (default 2)")
    ap.add_argument("--warmup-payments", type=int, default=60,
                    help="extra merged payments settled before the timed rounds (default 60)")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--server", default="gunicorn-sync", choices=sorted(http_servers.SERVERS))
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    ap.add_argument("--quiet-wait", type=float, default=60,
                    help="before each run, wait up to this many seconds for an idle machine (default 60)")
    ap.add_argument("--output", default=str(RESULTS / "callbacks.json"))
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--check-target", action="store_true",
                    help=f"exit 2 unless >= {GOAL_RPS} callbacks/s and p99 < {GOAL_P99_MS} ms")
    args = ap.parse_args(argv)

    from cryptography.fernet import Fernet

    tmp = Path(tempfile.mkdtemp(prefix="portal-callbacks-"))
    (tmp / "instance").mkdir()
    (tmp / "prom").mkdir()
    db_url, db_name = create_database(args.database_url)
    load0 = os.getloadavg()
    log(f"database: {db_name}; uptime load {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    env = {**os.environ, "FLASK_APP": "app", "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp / "instance"),
           "SECRET_KEY": secrets.token_hex(32), "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "REDIS_URL": args.redis_url, "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom"), "PYTHONPATH": str(ROOT)}
    engine = sa.create_engine(sa_url(db_url))
    srv = None
    status = 0
    try:
        made = prepare(env, args.payments + args.warmup_payments, args.orders)
        spec = dataclasses.replace(http_servers.SERVERS[args.server], workers=args.workers)
        srv = http_servers.Server(spec, "bench.wsgi:app", free_port(), env, tmp / "server.log")
        log(f"server: {spec.describe()}")

        def groups():
            with engine.connect() as conn:
                others = {r[0] for r in conn.execute(sa.text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname IS NOT NULL AND datname <> current_database()"))}
            return {"server": _tree(srv.pid), "postgres": [p for p in _pids_named("postgres") if p not in others],
                    "redis": _pids_named("redis-server")}

        # Warm-up (not timed): the bare endpoint, and --warmup-payments extra merged payments settled
        # through the real one (each worker's first settlements load code and fill caches).
        warm, made = made[:args.warmup_payments], made[args.warmup_payments:]
        wfile = tmp / "warm.tsv"
        write_callbacks(wfile, made[:200], BARE_PATH, "warm")
        send(srv.base, wfile, args.connections, groups)
        write_callbacks(wfile, warm, CALLBACK_PATH, "warm")
        w = send(srv.base, wfile, args.connections, groups)
        if w["errors"]:
            loud(f"WARM-UP: {w['errors']} errors; first {w['first_bad_status']} {w['first_bad_body']}")
            return 1
        run_tag = secrets.token_hex(3)
        per_round = [made[i::args.rounds] for i in range(args.rounds)]
        runs: dict[str, list[dict]] = {"bare": [], "settle": []}
        for rnd, chunk in enumerate(per_round, 1):
            for kind, target in (("bare", BARE_PATH), ("settle", CALLBACK_PATH)):
                f = tmp / f"{kind}-{rnd}.tsv"
                write_callbacks(f, chunk, target, f"{run_tag}-{kind}-{rnd}")
                busy = wait_for_quiet(args.quiet_wait)
                log(f"round {rnd}/{args.rounds}: {kind:<6} {len(chunk)} callbacks, {args.connections} connections"
                    f"  (machine {busy:.0%} busy before; load {os.getloadavg()[0]:.2f})")
                r = send(srv.base, f, args.connections, groups)
                r["round"] = rnd
                runs[kind].append(r)
                c = r["cpu_ms_per_request"]
                log(f"  {r['rps']:8.0f} callbacks/s  p50 {r['p50_us'] / 1000:6.1f}  p90 {r['p90_us'] / 1000:6.1f}  "
                    f"p99 {r['p99_us'] / 1000:6.1f}  max {r['max_us'] / 1000:6.1f} ms  errors {r['errors']}  "
                    f"other CPU {r['foreign_cpu']:.0%}  CPU ms/callback "
                    + " + ".join(f"{g} {c.get(g, 0):.2f}" for g in ("server", "postgres", "redis", "load generator")))
                if r["errors"]:
                    loud(f"INVALID: {r['errors']} errors; first {r['first_bad_status']} {r['first_bad_body']}")
                    status = 1
        time.sleep(0.5)
        ok, counts = verify_settled(engine, env, args.payments + args.warmup_payments, args.orders)
        if not ok:
            loud("INVALID: the database does not show every order settled exactly once")
            status = 1

        def total(kind):
            rs = runs[kind]
            n = sum(r["requests"] for r in rs)
            secs = sum(r["duration_us"] for r in rs) / 1e6
            lat_p99 = max(r["p99_us"] for r in rs) / 1000
            cpu = {g: round(sum(r["cpu_ms_per_request"].get(g, 0) * r["requests"] for r in rs) / max(1, n), 3)
                   for g in ("server", "postgres", "redis", "load generator")}
            return {"callbacks": n, "seconds": round(secs, 2), "rps": round(n / secs, 1),
                    "p50_ms": round(sorted(r["p50_us"] for r in rs)[len(rs) // 2] / 1000, 2),
                    "p99_ms_worst_round": round(lat_p99, 2), "cpu_ms_per_callback": cpu,
                    "other_cpu": [r["foreign_cpu"] for r in rs],
                    "rounds": [{k: r[k] for k in ("round", "requests", "rps", "p50_us", "p90_us", "p99_us", "max_us",
                                                  "errors", "machine_busy", "foreign_cpu", "cpu_ms_per_request")}
                               for r in rs]}

        bare, settle = total("bare"), total("settle")
        out = {"callbacks_per_second": settle["rps"],
               "orders_settled_per_second": round(settle["rps"] * args.orders, 1),
               "p50_ms": settle["p50_ms"], "p99_ms": settle["p99_ms_worst_round"],
               "bare_callbacks_per_second": bare["rps"], "bare_p99_ms": bare["p99_ms_worst_round"],
               "ratio_to_bare": round(settle["rps"] / bare["rps"], 3),
               "goal": {"callbacks_per_second": GOAL_RPS, "p99_ms": GOAL_P99_MS},
               "goal_met": settle["rps"] >= GOAL_RPS and settle["p99_ms_worst_round"] < GOAL_P99_MS,
               "settle": settle, "bare": bare, "db_check_ok": ok, "db_counts": counts, "valid": status == 0,
               "payments": args.payments, "orders_per_payment": args.orders, "connections": args.connections,
               "server": spec.describe(), "uptime_load_start": load0, "uptime_load_end": os.getloadavg(),
               "machine": machine_info(engine, "python"), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        log("")
        log(f"{spec.describe()}; {args.connections} connections; {args.payments} merged payments of {args.orders} "
            f"orders in {args.rounds} rounds; uptime load {os.getloadavg()[0]:.2f}")
        log(f"{'':<22} {'callbacks/s':>12} {'p50 ms':>8} {'p99 ms':>8}  CPU ms/callback server+pg+redis+loadgen")
        for name, t in (("bare signed callback", bare), ("settle 10 orders", settle)):
            c = t["cpu_ms_per_callback"]
            log(f"{name:<22} {t['rps']:>12.0f} {t['p50_ms']:>8.1f} {t['p99_ms_worst_round']:>8.1f}  "
                + " + ".join(f"{v:.2f}" for v in c.values()) + f" = {sum(c.values()):.2f}")
        log(f"settled / bare = {out['ratio_to_bare']:.2f}; orders settled per second "
            f"{out['orders_settled_per_second']:.0f}; goal >= {GOAL_RPS}/s and p99 < {GOAL_P99_MS} ms: "
            + ("met" if out["goal_met"] else "NOT met"))
        write_results(out, args.output, valid=status == 0)
        if status == 0 and args.check_target and not out["goal_met"]:
            status = 2
        return status
    finally:
        if srv is not None:
            srv.stop()
        engine.dispose()
        drop_or_keep_database(args.database_url, db_name, args.keep_db)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
