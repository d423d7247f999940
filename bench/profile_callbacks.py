"""Where the time of one settling callback goes: a single process, the Flask test client, PostgreSQL.

    .venv/bin/python bench/profile_callbacks.py [--payments 300] [--orders 10] [--profiler cprofile|pyinstrument|none]

Prepares ``--payments`` merged payments of ``--orders`` orders through the real services (as
bench/callbacks.py does, on a sandbox gateway), settles the first 30 untimed (warm-up), then sends
the signed SUCCESS callback of each other one through the whole WSGI stack one after the other, and
prints the mean wall and CPU time per callback, the SQL statements per callback with their time in
the driver and server, and a profile (pyinstrument is not a project dependency:
``.venv/bin/pip install pyinstrument``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.callbacks import prepare  # noqa: E402
from bench.create_order import create_database, drop_database  # noqa: E402
from bench.online_payments import CALLBACK_PATH, callback_request  # noqa: E402
from bench.sql_profile import PythonProfile  # noqa: E402

WARMUP = 30


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--payments", type=int, default=300)
    ap.add_argument("--orders", type=int, default=10)
    ap.add_argument("--profiler", choices=["pyinstrument", "cprofile", "none"], default="cprofile")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = ap.parse_args(argv)

    from cryptography.fernet import Fernet

    tmp = Path(tempfile.mkdtemp(prefix="portal-prof-"))
    db_url, db_name = create_database(args.database_url)
    env = {**os.environ, "FLASK_APP": "app", "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp),
           "SECRET_KEY": secrets.token_hex(32), "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "REDIS_URL": args.redis_url, "PYTHONPATH": str(ROOT)}
    try:
        made = prepare(env, args.payments, args.orders)
        from sqlalchemy import event

        from app import create_app
        from app.extensions import db

        app = create_app()
        client = app.test_client()
        with app.app_context():
            engine = db.engine
        statements: Counter = Counter()
        spent: Counter = Counter()
        started: dict = {}

        def _label(statement: str) -> str:
            words = statement.split()
            return (words[0].upper() + " " + " ".join(words[1:5]))[:70]

        @event.listens_for(engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            statements[_label(statement)] += 1
            started[id(conn)] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _timed(conn, cursor, statement, parameters, context, executemany):
            spent[_label(statement)] += time.perf_counter() - started.pop(id(conn), time.perf_counter())

        @event.listens_for(engine, "commit")
        def _commit(conn):
            statements["COMMIT"] += 1

        def send(p, tag: str):
            body, sig = callback_request(p, f"ev-{tag}-{p.channel_payment_no}")
            r = client.post(CALLBACK_PATH, data=body, headers={"Content-Type": "application/json",
                                                               "X-Gateway-Signature": sig})
            assert r.status_code == 200 and r.get_data() == b"success", r.get_data()[:300]

        for p in made[:WARMUP]:
            send(p, "warm")
        statements.clear()
        spent.clear()
        timed = made[WARMUP:]
        profile = PythonProfile(args.profiler)
        profile.start()
        t0, c0 = time.perf_counter(), time.process_time()
        for p in timed:
            send(p, "prof")
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        profile.stop()
        n = len(timed)
        print(f"{n} settling callbacks ({args.orders} orders each) in {elapsed:.2f} s -> "
              f"{elapsed / n * 1000:.2f} ms each ({n / elapsed:.0f}/s in one process, one client); "
              f"CPU of this process {cpu / n * 1000:.2f} ms each; load {os.getloadavg()[0]:.2f}")
        total = sum(statements.values())
        print(f"database calls per callback: {total / n:.2f}, "
              f"{sum(spent.values()) / n * 1000:.2f} ms in driver+server")
        print("  per callback   ms in driver+server   statement")
        for stmt, count in statements.most_common():
            print(f"  {count / n:6.2f}        {spent[stmt] / n * 1000:6.3f}          {stmt}")
        profile.print(cumulative_rows=45)
        with app.app_context():
            db.session.remove()
            engine.dispose()
    finally:
        drop_database(args.database_url, db_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
