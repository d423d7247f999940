"""CPU per request of the create path's pieces, in one process (Flask test client, PostgreSQL).

    .venv/bin/python bench/micro_create.py [--requests 1000] [--rounds 5]

Interleaves the targets for --rounds and prints the lowest CPU time per request of each (this
machine's CPU speed varies by tens of percent from minute to minute; the minimum of interleaved
rounds is the stable figure). Targets: the baselines' bare Flask answer and naive ORM insert, the
portal's /healthz (Flask plus the portal's own hooks), and the real create.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.create_order import create_database, drop_database, prepare  # noqa: E402
from bench.loadgen import body_for  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args(argv)
    from cryptography.fernet import Fernet

    tmp = Path(tempfile.mkdtemp(prefix="portal-micro-"))
    db_url, db_name = create_database(args.database_url)
    os.environ.update({"FLASK_APP": "app", "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp),
                       "SECRET_KEY": secrets.token_hex(32), "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                       "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
                       "API_RATE_LIMIT": "10000000 per minute", "PYTHONPATH": str(ROOT)})
    try:
        key = prepare(dict(os.environ))["key"]
        import bench.wsgi as w

        portal, baseline = w.portal.test_client(), w.baseline.test_client()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        counter = iter(range(10**9))

        targets = {
            "bare": lambda: baseline.post("/bare", data=b"{}", headers=headers),
            "healthz": lambda: portal.get("/healthz"),
            "naive": lambda: baseline.post("/naive", data=body_for("m", "n", next(counter)), headers=headers),
            "create": lambda: portal.post("/api/v1/integration/payment/create",
                                          data=body_for("m", "c", next(counter)), headers=headers),
        }
        for send in targets.values():  # warm-up
            for _ in range(100):
                assert send().status_code in (200, 201)
        best = {name: float("inf") for name in targets}
        for _ in range(args.rounds):
            for name, send in targets.items():
                c0 = time.process_time()
                for _ in range(args.requests):
                    send()
                best[name] = min(best[name], (time.process_time() - c0) / args.requests * 1000)
        for name, ms in best.items():
            print(f"{name:10s} {ms:6.3f} ms CPU per request (best of {args.rounds} rounds)")
        print(f"create / naive CPU: {best['create'] / best['naive']:.2f}")
    finally:
        drop_database(args.database_url, db_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
