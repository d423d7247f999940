"""What the single-process profile scripts (profile_create.py, profile_checkout.py, profile_callbacks.py)
share: a throw-away database with the environment of a portal on it, the SQL statements an engine runs,
counted and timed (statements per request, driver + server time per request, by statement), and the
Python profiler of the measured requests."""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from collections import Counter
from typing import Any

from sqlalchemy import event

from bench.create_order import ROOT, create_database


def add_database_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))


def throwaway_portal(database_url: str, **settings: str) -> tuple[dict, str]:
    """A fresh database on the server of ``database_url`` and the environment of a portal using it
    (fresh secrets, a temporary instance folder, the API rate limit out of reach, ``settings`` on top).
    Returns the environment and the database's name, for ``create_order.drop_database``."""
    from cryptography.fernet import Fernet

    db_url, db_name = create_database(database_url)
    env = {**os.environ, "FLASK_APP": "app", "DATABASE_URL": db_url,
           "INSTANCE_PATH": tempfile.mkdtemp(prefix="portal-prof-"),
           "SECRET_KEY": secrets.token_hex(32), "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
           "API_RATE_LIMIT": "10000000 per minute", "PYTHONPATH": str(ROOT), **settings}
    return env, db_name


def _label(statement: str) -> str:
    return statement.split()[0].upper() + " " + " ".join(statement.split()[1:4])[:60]


class StatementLog:
    def __init__(self, engine) -> None:
        self.statements: Counter = Counter()
        self.spent: Counter = Counter()
        self._started: dict = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.statements[_label(statement)] += 1
        self._started[id(conn)] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.spent[_label(statement)] += time.perf_counter() - self._started.pop(id(conn), time.perf_counter())

    def _commit(self, conn):
        self.statements["COMMIT"] += 1

    def _rollback(self, conn):
        self.statements["ROLLBACK"] += 1

    def clear(self) -> None:
        self.statements.clear()
        self.spent.clear()

    def print_per_request(self, n: int) -> None:
        total = sum(self.statements.values())
        print(f"database calls per request: {total / n:.2f}, "
              f"{sum(self.spent.values()) / n * 1000:.2f} ms in driver + server")
        print("  per request   ms in driver+server   statement")
        for stmt, count in self.statements.most_common():
            print(f"  {count / n:5.2f}        {self.spent[stmt] / n * 1000:6.3f}          {stmt}")


class PythonProfile:
    """The ``--profiler`` of a profile script around its measured requests: ``pyinstrument`` (its text
    tree), ``cprofile`` (the top functions by cumulative, then by own time) or ``none``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._profiler: Any = None

    def start(self) -> None:
        if self.kind == "pyinstrument":
            from pyinstrument import Profiler

            self._profiler = Profiler(interval=0.0005)
            self._profiler.start()
        elif self.kind == "cprofile":
            import cProfile

            self._profiler = cProfile.Profile()
            self._profiler.enable()

    def stop(self) -> None:
        if self.kind == "pyinstrument":
            self._profiler.stop()
        elif self.kind == "cprofile":
            self._profiler.disable()

    def print(self, cumulative_rows: int) -> None:
        if self.kind == "pyinstrument":
            print(self._profiler.output_text(unicode=True, color=False, show_all=False))
        elif self.kind == "cprofile":
            import pstats

            pstats.Stats(self._profiler).sort_stats("cumulative").print_stats(cumulative_rows)
            pstats.Stats(self._profiler).sort_stats("tottime").print_stats(30)
