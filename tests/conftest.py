"""Test setup: a real database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set) migrated
to head once per session, a real Redis, and helpers to make API clients and resellers."""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.services.accounts import api_clients
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


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    os.environ["INSTANCE_PATH"] = str(instance)
    # Everything this session keeps in Redis (queues, sessions, rate-limit counters, the scheduler's
    # lease) is under this prefix, so that several sessions (pytest-xdist workers) share a database.
    prefix = f"test-{uuid.uuid4().hex[:6]}-"
    app = create_app({
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "RQ_QUEUE_PREFIX": prefix,
        "RATELIMIT_KEY_PREFIX": f"{prefix}limits",
        "TESTING": True,
        "API_RATE_LIMIT": "100000 per minute",
        "LOGIN_RATE_LIMIT": "100000 per minute",
    })
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        if db.engine.dialect.name == "sqlite":
            # Append-only triggers refuse DELETE, so each test starts from a copy of the migrated file.
            db.engine.dispose()
            path = db.engine.url.database
            shutil.copyfile(path, path + ".template")
            app.config["TEST_SQLITE_TEMPLATE"] = path + ".template"
    yield app
    with app.app_context():
        db.engine.dispose()


def _truncate_all(app):
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


@pytest.fixture(autouse=True)
def clean_db(app):
    with app.app_context():
        _truncate_all(app)
        api_clients.clear_cache()
    yield


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def make_api_key(app):
    """make_api_key("payments,credit") -> a Bearer key of a new client with those scopes."""

    def make(scopes: str = "payments,refunds,credit,finance,disburse,resellers", name: str | None = None) -> str:
        with app.app_context():
            _, key = api_clients.create_client(TEST_ACTOR, name or f"client-{uuid.uuid4().hex[:8]}",
                                               api_clients.parse_scopes(scopes))
        return key

    return make


@pytest.fixture
def make_reseller(app):
    def make(code: str = "R1001", status: str = "ACTIVE", credit_limit: str = "0.00", wallet: str = "0.00"):
        from app.models import Reseller

        with app.app_context():
            r = Reseller(code=code, name=f"Reseller {code}", status=status, credit_limit=Decimal(credit_limit),
                         credit_used=Decimal("0.00"), wallet_balance=Decimal(wallet), credit_term_days=30,
                         credit_status="ACTIVE", approval_threshold=Decimal("1000000.00"), version=1)
            db.session.add(r)
            db.session.commit()
            return r.id

    return make


class Api:
    """A small wrapper around the test client that sends the Bearer key."""

    def __init__(self, client, key: str):
        self.client, self.key = client, key

    def _headers(self, extra=None):
        h = {"Authorization": f"Bearer {self.key}"}
        h.update(extra or {})
        return h

    def post(self, path, json=None, data=None, headers=None, content_type="application/json"):
        if json is not None:
            return self.client.post(path, json=json, headers=self._headers(headers))
        return self.client.post(path, data=data, headers=self._headers(headers), content_type=content_type)

    def patch(self, path, json=None, headers=None):
        return self.client.patch(path, json=json, headers=self._headers(headers))

    def put(self, path, json=None, headers=None):
        return self.client.put(path, json=json, headers=self._headers(headers))

    def get(self, path, headers=None, query_string=None):
        return self.client.get(path, headers=self._headers(headers), query_string=query_string)


@pytest.fixture
def api(client, make_api_key):
    return Api(client, make_api_key())
