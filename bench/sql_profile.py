"""Count and time the SQL statements an engine runs, for the profile scripts (profile_create.py,
profile_checkout.py): statements per request, driver + server time per request, by statement."""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import event


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
