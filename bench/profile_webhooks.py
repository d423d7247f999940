"""Where the time of outbox delivery goes: one process, PostgreSQL, the bench's real receiver.

    .venv/bin/python bench/profile_webhooks.py [--events 5000] [--profiler cprofile|none] [--rounds 1]

Creates a throw-away database (like bench/webhooks.py), one endpoint at the bench's receiver (a
child process that verifies every signature), commits ``--events`` events, then runs
``dispatch_outbox()`` in this process and prints: wall and CPU time per event of each phase
(fan-out, claim, send, record — the functions of ``services/webhooks/delivery.py`` timed from
outside), the SQL statements per batch with their time, the receiver's CPU per event and, with
``--profiler cprofile``, the top of the profile (cumulative and own time); ``--explain-claim N``
prints the plan of the claim's SELECT just before its Nth run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.create_order import _proc_jiffies, create_database, drop_database, free_port  # noqa: E402


class Phases:
    """Wall and thread-CPU time spent in wrapped functions, by name."""

    def __init__(self) -> None:
        self.wall: Counter = Counter()
        self.cpu: Counter = Counter()
        self.calls: Counter = Counter()

    def wrap(self, module: object, name: str) -> None:
        fn = getattr(module, name)

        def timed(*args, **kwargs):  # noqa: ANN002, ANN003
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[name] += time.perf_counter() - w0
                self.cpu[name] += time.process_time() - c0
                self.calls[name] += 1

        setattr(module, name, timed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=1, help="emit and deliver --events this many times")
    ap.add_argument("--profiler", choices=["cprofile", "none"], default="none")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--explain-claim", type=int, default=0, help="EXPLAIN ANALYZE the claim query before its Nth run")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2"))
    args = ap.parse_args(argv)

    db_url, db_name = create_database(args.database_url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": args.redis_url,
           "RQ_QUEUE_PREFIX": f"prof-hooks-{secrets.token_hex(3)}-", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
           "LOG_LEVEL": "WARNING", "INSTANCE_PATH": tempfile.mkdtemp(prefix="prof-hooks-")}
    os.environ.update(env)
    receiver = None
    try:
        from sqlalchemy import event

        from app import create_app
        from app.extensions import db
        from app.jobs import webhooks as job
        from app.services.webhooks import delivery, sender
        from bench.webhooks import emit_events, prepare

        app = create_app()
        with app.app_context():
            secret = prepare(env, f"http://127.0.0.1:{port}/hook")
            receiver = subprocess.Popen([sys.executable, str(ROOT / "bench" / "webhooks.py"), "--receiver",
                                         str(port), "--secret", secret], cwd=ROOT, stdout=subprocess.PIPE, text=True)
            if receiver.stdout is None or receiver.stdout.readline().strip() != "ready":
                raise SystemExit("the receiver did not start")

            phases = Phases()
            for name in ("fan_out", "_claim", "_record"):
                phases.wrap(delivery, name)
            phases.wrap(sender, "send_all")
            statements: Counter = Counter()
            spent: Counter = Counter()
            started: dict = {}

            def label(statement: str) -> str:
                words = statement.split()
                return (words[0].upper() + " " + " ".join(words[1:6]))[:70]

            explained: list = []

            @event.listens_for(db.engine, "before_cursor_execute")
            def _count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
                statements[label(statement)] += 1
                if (args.explain_claim and statement.startswith("SELECT webhook_deliveries.id")
                        and statements[label(statement)] == args.explain_claim):
                    import psycopg
                    with psycopg.connect(db_url.replace("+psycopg", "")) as other:
                        plan = other.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall()
                        other.rollback()
                    explained.append("\n".join(r[0] for r in plan))
                started[id(conn)] = time.perf_counter()

            @event.listens_for(db.engine, "after_cursor_execute")
            def _timed(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
                spent[label(statement)] += time.perf_counter() - started.pop(id(conn), time.perf_counter())

            @event.listens_for(db.engine, "commit")
            def _commit(conn):  # noqa: ANN001
                statements["COMMIT"] += 1

            profiler = cProfile.Profile() if args.profiler == "cprofile" else None
            total_wall = total_cpu = 0.0
            rcv0 = _proc_jiffies(receiver.pid)
            for _ in range(args.rounds):
                emit_events(args.events)
                statements.clear()
                spent.clear()
                w0, c0 = time.perf_counter(), time.process_time()
                if profiler:
                    profiler.enable()
                result = job.dispatch_outbox()
                if profiler:
                    profiler.disable()
                total_wall += time.perf_counter() - w0
                total_cpu += time.process_time() - c0
                print(result, flush=True)
            rcv_ms = (_proc_jiffies(receiver.pid) - rcv0) * 1000 / os.sysconf("SC_CLK_TCK")
            n = args.events * args.rounds
            print(f"\n{n} events: {n / total_wall:.0f} events/s in one process; per event: wall "
                  f"{total_wall / n * 1000:.3f} ms, CPU {total_cpu / n * 1000:.3f} ms (this process, all threads); "
                  f"receiver CPU {rcv_ms / n:.3f} ms")
            print("\nphase            calls   wall ms/event   CPU ms/event")
            for name in phases.calls:
                print(f"{name:<16} {phases.calls[name]:>5}   {phases.wall[name] / n * 1000:>13.3f}"
                      f"   {phases.cpu[name] / n * 1000:>12.3f}")
            batches = max(1, phases.calls["_claim"])
            print(f"\nSQL statements of the last round ({batches // args.rounds} claims), count and driver+server ms:")
            for stmt, count in statements.most_common():
                print(f"  {count:>5}  {spent[stmt] * 1000:>9.1f} ms  {stmt}")
            for plan in explained:
                print(f"\nEXPLAIN of claim number {args.explain_claim}:\n{plan}")
            if profiler:
                for key in ("cumulative", "tottime"):
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(args.top)
                    print(out.getvalue())
            db.session.remove()
            db.engine.dispose()
    finally:
        if receiver is not None:
            receiver.terminate()
            receiver.wait(10)
        drop_database(args.database_url, db_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
