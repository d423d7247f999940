"""Where the time of one create goes: a single process, the Flask test client, PostgreSQL.

    .venv/bin/python bench/profile_create.py [--requests 2000] [--profiler pyinstrument|cprofile|none]

Creates a throw-away database (like bench/create_order.py), sends --requests creates through the
whole WSGI stack (auth, limiter, validation, service, commit, JSON answer) one after the other,
and prints the mean wall time per create, the SQL statements (round trips) per create, and a
profile. pyinstrument is not a project dependency: ``.venv/bin/pip install pyinstrument``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.create_order import drop_database, prepare  # noqa: E402
from bench.loadgen import body_for  # noqa: E402
from bench.sql_profile import PythonProfile, StatementLog, add_database_argument, throwaway_portal  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--profiler", choices=["pyinstrument", "cprofile", "none"], default="pyinstrument")
    ap.add_argument("--target", choices=["create", "naive", "bare"], default="create")
    add_database_argument(ap)
    args = ap.parse_args(argv)

    env, db_name = throwaway_portal(args.database_url)
    try:
        key = prepare(env)["key"]
        import bench.wsgi as w
        from app.extensions import db
        from bench.baseline_app import naive_db

        client = w.portal.test_client()
        path = "/api/v1/integration/payment/create"
        if args.target != "create":
            client = w.baseline.test_client()
            path = f"/{args.target}"
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        with (w.portal if args.target == "create" else w.baseline).app_context():
            engine = db.engine if args.target == "create" else naive_db.engine
        sql = StatementLog(engine)

        def send(i: int, prefix: str):
            r = client.post(path, data=body_for(prefix, "p", i), headers=headers)
            assert r.status_code in (200, 201), (r.status_code, r.get_data(as_text=True))

        for i in range(200):  # warm-up: caches, pools, compiled statements
            send(i, "warm")
        sql.clear()

        profile = PythonProfile(args.profiler)
        profile.start()
        t0 = time.perf_counter()
        c0 = time.process_time()
        for i in range(args.requests):
            send(i, "prof")
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - c0
        profile.stop()

        n = args.requests
        print(f"{args.target}: {n} requests in {elapsed:.2f} s -> {elapsed / n * 1000:.2f} ms each, "
              f"{n / elapsed:.0f} req/s in one process, one client; CPU of this process {cpu / n * 1000:.2f} ms each")
        sql.print_per_request(n)
        if args.target == "create":
            # SQLAlchemy's events see the statements of the session only.
            print("  (+ 1 statement a request, in autocommit on the driver's own connection: the one-statement "
                  "create of app/services/orders/writer_pg.py, which SQLAlchemy does not see)")
        profile.print(cumulative_rows=40)
        with (w.portal if args.target == "create" else w.baseline).app_context():
            engine.dispose()
    finally:
        drop_database(args.database_url, db_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
