"""The test database: a fresh one per run (SQLite file, or a database of its own on the PostgreSQL test
server when TEST_DATABASE_URL names one) and the reset that empties it before each test."""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager

import sqlalchemy as sa

from app.extensions import db
from app.services.platform.actor import Actor

TEST_ACTOR = Actor(type="system", id="tests")


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    return url if url.startswith("postgres") else None


def _make_pg_database(base_url: str) -> tuple[str, str]:
    """A fresh database on the test server, named for this run (dropped at the end)."""
    url = sa.engine.make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1)
                             if base_url.startswith("postgresql://") else base_url)
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # A throw-away database: a commit need not wait for the WAL flush (durability is not under test;
        # isolation and locking, which are, do not change).
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(base_url: str, name: str) -> None:
    url = sa.engine.make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1)
                             if base_url.startswith("postgresql://") else base_url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def fresh_database(directory):
    """A new empty database: on the PostgreSQL test server if TEST_DATABASE_URL names one (dropped
    afterwards), else a SQLite file in ``directory``."""
    base = _postgres_url()
    if base:
        url, name = _make_pg_database(base)
        try:
            yield url
        finally:
            _drop_pg_database(base, name)
    else:
        yield f"sqlite:///{directory / 'test.db'}"


def reset_database(app) -> None:
    """Empty every table (PostgreSQL) or put back the migrated SQLite file, in ``app``'s context."""
    if db.engine.dialect.name == "postgresql":
        # Only the tables that hold rows (one probe finds them; a test touches a few), emptied with
        # DELETE under session_replication_role=replica, which skips the append-only and foreign-key
        # triggers (superuser only: the test server's postgres user). Where that is not allowed,
        # TRUNCATE, which fires no row triggers but costs about 15 ms a table. Then every sequence
        # that was used restarts at 1. (A TRUNCATE of every table was 80 ms a test; this is ~3 ms.)
        probe = " UNION ALL ".join(f"(SELECT '{t.name}' FROM \"{t.name}\" LIMIT 1)" for t in db.metadata.sorted_tables)
        dirty = db.session.execute(sa.text(probe)).scalars().all()
        if dirty:
            try:
                db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
                for table in dirty:
                    db.session.execute(sa.text(f'DELETE FROM "{table}"'))
            except sa.exc.DBAPIError:
                db.session.rollback()
                db.session.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in dirty) + " CASCADE"))
        db.session.execute(sa.text(
            "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) FROM pg_sequences"
            " WHERE last_value IS NOT NULL"))
        db.session.commit()
    else:
        db.session.remove()
        db.engine.dispose()
        path = db.engine.url.database
        tmp = path + ".fresh"
        shutil.copyfile(app.config["TEST_SQLITE_TEMPLATE"], tmp)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        os.replace(tmp, path)


@contextmanager
def postgres_database(base_url: str):
    """A database of its own on the PostgreSQL server of ``base_url`` (dropped afterwards): for a
    deployment the tests start beside the session's database (tests/cluster/)."""
    url, name = _make_pg_database(base_url)
    try:
        yield url
    finally:
        _drop_pg_database(base_url, name)
