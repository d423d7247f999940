"""Where the time of a reseller's WALLET checkout and of the order list page goes: one process, the
Flask test client, PostgreSQL (issue 16: the two most expensive requests of bench/load_mix.py's mix).

    .venv/bin/python bench/profile_checkout.py [--requests 300] [--target checkout_wallet|list_page]
                                               [--profiler cprofile|none]

Creates a throw-away database, migrates it and seeds it as bench/load_mix.py does (one reseller with a
funded wallet and its operator, the WALLET channel, an API client), signs the operator in through the
login form, creates the orders through the API, then sends --requests checkouts (each paying ONE
UNPAID order in full by WALLET: ``POST /checkout`` with the session's CSRF token and a fresh form
token, answered 303 to the payment) or order list pages, one after the other. Prints the wall and CPU
time per request, the SQL statements per request with their time in driver + server, and a cProfile
of the measured requests (cumulative, then own time).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.create_order import drop_database  # noqa: E402
from bench.load_mix import PASSWORD, VENV_BIN, WALLET, portal_app, seed  # noqa: E402
from bench.sql_profile import PythonProfile, StatementLog, add_database_argument, throwaway_portal  # noqa: E402

CREATE = "/api/v1/integration/payment/create"
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
WARMUP = 30


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--target", choices=["checkout_wallet", "list_page"], default="checkout_wallet")
    ap.add_argument("--profiler", choices=["cprofile", "none"], default="cprofile")
    add_database_argument(ap)
    args = ap.parse_args(argv)

    env, db_name = throwaway_portal(args.database_url, LOGIN_RATE_LIMIT="100000 per minute",
                                    WEBHOOK_WAKE_ON_COMMIT="0")
    try:
        subprocess.run([str(VENV_BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # The ONLINE channel's gateway is never called here (WALLET checkouts only).
        seeded = seed(portal_app(env), 1, "http://127.0.0.1:9", "unused-callback-secret", "unused-api-secret")
        reseller, email = seeded["users"][0]
        import bench.wsgi as w
        from app.extensions import db

        client = w.portal.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = _META_TOKEN.search(page) or re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
        assert r.status_code == 302, (r.status_code, r.get_data(as_text=True)[:500])
        csrf = _META_TOKEN.search(client.get("/orders").get_data(as_text=True)).group(1)

        api = {"Authorization": f"Bearer {seeded['api_key']}"}
        orders = []
        n = args.requests
        for i in range(WARMUP + n):
            amount = f"{100 + i % 900}.{i % 100:02d}"
            r = client.post(CREATE, headers=api, json={
                "requestId": f"req-prof-{i}", "orderId": f"SO-PROF-{i}", "resellerId": reseller,
                "paymentType": "ADVANCE_PAYMENT", "paymentAmount": amount, "businessDesc": "profile"})
            assert r.status_code == 201, r.get_data(as_text=True)
            orders.append((r.get_json()["data"]["paymentId"], amount))

        def send(i: int) -> None:
            if args.target == "list_page":
                r = client.get("/orders")
                assert r.status_code == 200, r.status_code
                return
            pid, amount = orders[i]
            r = client.post("/checkout", data={
                "csrf_token": csrf, "token": secrets.token_urlsafe(24),
                "rows-0-payment_id": pid, "rows-0-amount": amount, "rows-0-channel": WALLET})
            assert r.status_code == 303 and "/payments/" in r.headers["Location"], \
                (r.status_code, r.get_data(as_text=True)[:800])

        with w.portal.app_context():
            sql = StatementLog(db.engine)
        for i in range(WARMUP):  # caches, pools, compiled statements
            send(i)
        sql.clear()

        profile = PythonProfile(args.profiler)
        profile.start()
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(WARMUP, WARMUP + n):
            send(i)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        profile.stop()

        print(f"{args.target}: {n} requests in {elapsed:.2f} s -> {elapsed / n * 1000:.2f} ms each; "
              f"CPU of this process {cpu / n * 1000:.2f} ms each (with cProfile on: {args.profiler != 'none'}); "
              f"load {os.getloadavg()}")
        sql.print_per_request(n)
        profile.print(cumulative_rows=45)
        with w.portal.app_context():
            db.engine.dispose()
    finally:
        drop_database(args.database_url, db_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
