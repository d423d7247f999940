"""Engine settings per database.

SQLite: WAL, a busy timeout, and BEGIN IMMEDIATE for every transaction, because a deferred
transaction that later writes fails with SQLITE_BUSY regardless of the timeout. The one exception is
a transaction begun with the ``READ_ONLY`` execution option (``unit_of_work.begin_read``): it
begins DEFERRED, so in WAL mode it reads a snapshot and holds no lock a writer waits for. Without it
a worker reading a month-end statement's data would hold the database's one write lock for the
whole read, and a bank callback's settlement would wait behind it.

Every database: a row locked with SELECT ... FOR UPDATE is read afresh (``refresh_locked_rows``).
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session

READ_ONLY = "portal_read_only"


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


def refresh_locked_rows() -> None:
    """Make every ORM SELECT ... FOR UPDATE overwrite what the session already holds of the rows it
    locks (``populate_existing``). Without it the session keeps the attributes it loaded earlier in
    the transaction, before the lock: the signed-in user's reseller is loaded with the user (joined)
    when the request starts, so a WALLET checkout locked the reseller and then debited the balance
    read before the lock, losing a refund's credit committed in between (found by
    bench/load_mix.py; tests/engine/test_locked_rows_fresh.py). Once per process."""
    if not event.contains(Session, "do_orm_execute", _read_locked_rows_afresh):
        event.listen(Session, "do_orm_execute", _read_locked_rows_afresh)


def _read_locked_rows_afresh(state: ORMExecuteState) -> None:
    # ``_for_update_arg`` is how SQLAlchemy marks a statement's FOR UPDATE (no public accessor).
    if state.is_select and getattr(state.statement, "_for_update_arg", None) is not None:
        state.update_execution_options(populate_existing=True)


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
