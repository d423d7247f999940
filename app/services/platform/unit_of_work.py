"""The unit of work used by every service: commit on success, roll back on any error.

``end_read`` ends a transaction that only read (it releases the snapshot and any row locks, and
returns the connection to the pool) before slow work such as a call to a bank: a read must never
hold a transaction open across network I/O. It is a rollback, named for what it means."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_sqlalchemy.session import Session
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import scoped_session
from sqlalchemy.sql.dml import UpdateBase

from ...db_setup import READ_ONLY
from ...extensions import db


@contextmanager
def transaction() -> Iterator[scoped_session[Session]]:
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def rows_changed(statement: UpdateBase) -> int:
    """Run an INSERT, UPDATE or DELETE in the current transaction; the number of rows it changed."""
    result = db.session.execute(statement)
    assert isinstance(result, CursorResult)  # what a DML statement gives; the session is typed as any Result
    return result.rowcount


def begin_read() -> None:
    """Begin a transaction that only reads, for a long read such as a document's data.

    On SQLite it begins DEFERRED (``app/db_setup.py``): a WAL snapshot that never holds the write
    lock, so writers (a callback's settlement) do not wait for it. Nothing may be written in it: a
    deferred SQLite transaction that writes can fail with SQLITE_BUSY at once. On PostgreSQL it is
    an ordinary transaction. Must be called with no transaction open; end it with ``end_read``.
    """
    assert not db.session().in_transaction(), "begin_read must start the transaction"
    db.session.connection(execution_options={READ_ONLY: True})


def end_read() -> None:
    """End the current read-only transaction (nothing in it is kept)."""
    db.session.rollback()


def discard() -> None:
    """Throw away a failed transaction's work (after an error the caller handles)."""
    db.session.rollback()
