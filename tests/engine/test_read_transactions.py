"""``unit_of_work.begin_read``: a long read (a statement's data, read by a worker) never holds back a
writer. On SQLite every other transaction begins IMMEDIATE and takes the database's one write lock
(app/db_setup.py); a read begun with ``begin_read`` begins DEFERRED and reads a WAL snapshot, so a
settlement in another connection commits while the read is still open. Before this, a callback's
settlement waited seconds behind the month-end statements (tests/integration/test_statements_vs_callbacks.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Reseller
from app.services.platform.unit_of_work import begin_read, end_read
from tests.support.factories import make_reseller


def _writer_commits_at_once(rid: int) -> bool:
    """In another connection, with no patience for a lock: rename the reseller and commit."""
    with db.engine.connect() as other:
        sqlite = other.dialect.name == "sqlite"
        if sqlite:  # on the driver's connection: a statement through SQLAlchemy would BEGIN IMMEDIATE first
            other.connection.driver_connection.execute("PRAGMA busy_timeout=0")
        else:
            # LOCAL: for this transaction only, as the connection goes back to the pool afterwards
            other.exec_driver_sql("SET LOCAL lock_timeout = '100ms'")
        try:
            other.execute(sa.update(Reseller).where(Reseller.id == rid).values(name="Renamed"))
            other.commit()
            return True
        except sa.exc.OperationalError:
            other.rollback()
            return False
        finally:
            if sqlite:
                other.connection.driver_connection.execute("PRAGMA busy_timeout=30000")


def test_a_writer_commits_while_a_read_is_open_and_the_read_keeps_its_snapshot(ctx):
    rid = make_reseller("R1001")
    name_before = db.session.scalar(sa.select(Reseller.name).where(Reseller.id == rid))
    db.session.commit()

    begin_read()
    assert db.session.scalar(sa.select(Reseller.name).where(Reseller.id == rid)) == name_before
    assert _writer_commits_at_once(rid)
    if db.engine.dialect.name == "sqlite":
        # The snapshot the read began with: the whole read sees one moment of the data.
        assert db.session.scalar(sa.select(Reseller.name).where(Reseller.id == rid)) == name_before
    end_read()
    assert db.session.scalar(sa.select(Reseller.name).where(Reseller.id == rid)) == "Renamed"
    db.session.rollback()


def test_an_ordinary_transaction_on_sqlite_does_hold_the_writer_back(ctx):
    """The control of the test above: without ``begin_read`` the same read blocks the writer."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL no read blocks a writer")
    rid = make_reseller("R1001")
    db.session.commit()
    db.session.scalar(sa.select(Reseller.name).where(Reseller.id == rid))
    assert not _writer_commits_at_once(rid)
    db.session.rollback()


def test_begin_read_refuses_to_join_a_transaction_already_open(ctx):
    """Inside an open transaction the option would be ignored: the read would hold the lock after all."""
    make_reseller("R1001")
    db.session.scalar(sa.select(Reseller.id))  # a transaction is open now
    with pytest.raises(AssertionError, match="begin_read must start the transaction"):
        begin_read()
    db.session.rollback()
