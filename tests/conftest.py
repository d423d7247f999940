"""Test setup: a real database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set) migrated
to head once per session, a real Redis, and fixtures that make API clients and resellers. The helpers
live in tests/support/ (database, factories, api, ...); the sandbox gateway's fixtures are a plugin."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from argon2 import PasswordHasher

from app import create_app
from app.extensions import db
from app.services.accounts import api_clients, users
from tests.support import factories
from tests.support.api import Api
from tests.support.database import fresh_database, reset_database

pytest_plugins = ["tests.support.online_gateway", "tests.support.mail", "tests.support.webhook_receiver",
                  "tests.support.webhook_world"]

# Most web tests begin by signing people in, and argon2 at OWASP's cost is ~60 ms a hash: it was 44 %
# of the authorization matrix's time. Passwords made in the test processes use argon2's floor (each
# hash carries its parameters, so verifying stays exact); tests/unit/test_password_hashing.py checks
# the production parameters, and the processes the tests start (workers, the e2e server) use them.
users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


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
        # Every test of a session asks /verify from 127.0.0.1: the default 30 a minute is one test's.
        "VERIFY_RATE_LIMIT": "100000 per minute",
        "SMTP_URL": "",  # no mail unless a test asks for its SMTP server (tests/support/mail.py ``smtp``)
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


@pytest.fixture(autouse=True)
def clean_db(app):
    with app.app_context():
        reset_database(app)
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

    def make(scopes: str = factories.ALL_SCOPES, name: str | None = None) -> str:
        with app.app_context():
            return factories.make_api_key(scopes, name)

    return make


@pytest.fixture
def make_reseller(app):
    """make_reseller("R1001", credit_limit="1000.00", wallet="0.00") -> the new reseller's id."""

    def make(code: str = "R1001", status: str = "ACTIVE", credit_limit: str = "0.00", wallet: str = "0.00"):
        with app.app_context():
            return factories.make_reseller(code, status, credit_limit, wallet)

    return make


@pytest.fixture
def api(client, make_api_key):
    return Api(client, make_api_key())
