"""Engine settings per database.

SQLite: WAL, a busy timeout, and BEGIN IMMEDIATE for every transaction, because a deferred
transaction that later writes fails with SQLITE_BUSY regardless of the timeout. The one exception is
a transaction begun with the ``READ_ONLY`` execution option (``unit_of_work.begin_read``): it
begins DEFERRED, so in WAL mode it reads a snapshot and holds no lock a writer waits for. Without it
a worker reading a month-end statement's data would hold the database's one write lock for the
whole read, and a bank callback's settlement would wait behind it.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

READ_ONLY = "portal_read_only"


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")
