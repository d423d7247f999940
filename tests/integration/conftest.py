"""Fixtures of the API contract tests: row counts (to prove a refused request stored nothing),
a reseller, and API callers with chosen scopes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.support.api import COUNTED, CREATE, assert_ok, order_body


@pytest.fixture
def row_counts(app):
    """row_counts() -> {table: rows} for payment_orders, idempotency_keys, audit_log,
    outbox_events and status_log."""

    def counts() -> dict[str, int]:
        with app.app_context():
            return {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
                    for m in COUNTED}

    return counts


@pytest.fixture
def api_with(api, make_api_key):
    """api_with("finance") -> an API caller (like ``api``) whose key holds exactly those scopes."""

    def make(scopes: str):
        return type(api)(api.client, make_api_key(scopes))

    return make


@pytest.fixture
def reseller(make_reseller) -> str:
    make_reseller("R1001")
    return "R1001"


@pytest.fixture
def order(api, reseller) -> dict:
    """A fresh UNPAID order of 1250000.00 (its API representation)."""
    return assert_ok(api.post(CREATE, json=order_body()), 201)
