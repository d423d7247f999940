"""PostgreSQL writes a plain create in one statement (app/services/order_create_pg.py) and
everything else through the general path: both must store the very same rows."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, IdempotencyKey, OutboxEvent, PaymentOrder, StatusLog
from app.services.accounts import api_clients
from app.services.orders import writer_pg as order_writer_pg
from app.services.orders.creation import write_plain
from app.services.orders.new_order import NewPaymentOrder
from app.services.platform.actor import Actor
from tests.support.api import CREATE, assert_ok, order_body

# Differ between any two creates: identities, numbers, clocks, the request.
PER_CREATE = {"id", "payment_id", "order_id", "payment_order_id", "target_id", "aggregate_id", "event_id",
              "resource_id", "key", "request_hash", "request_id", "created_at", "updated_at", "expires_at"}
PER_CREATE_VIEW = {"paymentId", "orderId", "createdAt", "updatedAt"}


def _rows(app, payment_id: str) -> dict:
    """Every column of the order's rows; JSON columns as their stored text (key order included)."""
    def read(model, *where):
        table = model.__table__
        columns = [sa.cast(c, sa.Text).label(c.name) if isinstance(c.type, sa.JSON) else c for c in table.columns]
        return dict(db.session.execute(sa.select(*columns).where(*where)).mappings().one())

    with app.app_context():
        order = read(PaymentOrder, PaymentOrder.payment_id == payment_id)
        rows = {
            "order": order,
            "status": read(StatusLog, StatusLog.payment_order_id == order["id"]),
            "audit": read(AuditEntry, AuditEntry.target_id == payment_id, AuditEntry.action == "payment_order.create"),
            "outbox": read(OutboxEvent, OutboxEvent.aggregate_id == payment_id),
            "key": read(IdempotencyKey, IdempotencyKey.resource_id == payment_id),
        }
        db.session.rollback()
    return rows


def _comparable(rows: dict) -> dict:
    out = {}
    for role, row in rows.items():
        kept = {k: v for k, v in row.items() if k not in PER_CREATE}
        for column in ("after", "payload"):
            if kept.get(column):
                view = json.loads(kept[column])
                kept[column] = (list(view), {k: v for k, v in view.items() if k not in PER_CREATE_VIEW})
        out[role] = kept
    out["key_days"] = rows["key"]["expires_at"] - rows["key"]["created_at"]
    return out


def test_one_statement_and_general_path_store_the_same_rows(app, api, reseller, monkeypatch, is_postgres):
    if not is_postgres:
        pytest.skip("the one-statement create is PostgreSQL's")
    body = order_body(paymentDeadline="2031-12-01T18:00:00+08:00", businessDesc="30% advance, 炉", priority=3,
                      relatedBusinessId="DO-9", relatedBusinessType="DELIVERY_ORDER", businessExpireDate="2031-12-31",
                      tags={"z": 1, "a": "二", "line": True}, paymentAmount="98765.40")
    fast = assert_ok(api.post(CREATE, json=body | {"orderId": "SO-FAST", "requestId": "fast-1"}), 201)
    calls = []
    real = order_writer_pg.insert_order
    monkeypatch.setattr(order_writer_pg, "insert_order", lambda *a, **kw: calls.append(1))  # declines: general path
    general = assert_ok(api.post(CREATE, json=body | {"orderId": "SO-GENERAL", "requestId": "general-1"}), 201)
    assert calls == [1]
    monkeypatch.setattr(order_writer_pg, "insert_order", real)

    fast_rows, general_rows = _rows(app, fast["paymentId"]), _rows(app, general["paymentId"])
    assert _comparable(fast_rows) == _comparable(general_rows)
    assert fast_rows["audit"]["before"] == general_rows["audit"]["before"] == "null"  # JSON null, not SQL NULL
    assert json.loads(fast_rows["order"]["tags"]) == body["tags"]
    assert list(json.loads(fast_rows["order"]["tags"])) == ["z", "a", "line"]  # the client's key order
    assert {k: v for k, v in fast.items() if k not in PER_CREATE_VIEW} == \
        {k: v for k, v in general.items() if k not in PER_CREATE_VIEW}


def test_one_statement_path_declines_what_is_not_plain(app, api, reseller, make_reseller, is_postgres):
    """Unknown and suspended resellers, a stored key, a natural-key twin: the one statement writes
    nothing and returns None (the general path answers them; tests elsewhere check the answers)."""
    if not is_postgres:
        pytest.skip("the one-statement create is PostgreSQL's")
    first = assert_ok(api.post(CREATE, json=order_body(requestId="plain-1")), 201)
    make_reseller("R7007", status="SUSPENDED")
    with app.app_context():
        client = api_clients.authenticate(api.key)
        actor = Actor(type="api_client", id=client.name, client_id=client.id, scopes=client.scopes)
        before = db.session.scalar(sa.select(sa.func.count()).select_from(PaymentOrder))
        db.session.rollback()

        def attempt(key, **over):
            values = dict(order_id="SO-OTHER", reseller_code="R1001", payment_type="ADVANCE_PAYMENT",
                          payment_amount=Decimal("1250000.00")) | over
            return write_plain(actor, NewPaymentOrder(**values), key, "f" * 64)

        assert attempt(None, reseller_code="R9999") is None  # unknown reseller
        assert attempt(None, reseller_code="R7007") is None  # suspended
        assert attempt("plain-1") is None  # the key is stored
        assert attempt(None, order_id=first["orderId"]) is None  # a live order with that natural key
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentOrder)) == before
        assert attempt("plain-2") is not None  # and the plain case is written


def test_one_statement_path_recovers_from_lost_connections(app, api, reseller, row_counts, is_postgres):
    """PostgreSQL drops every connection of the app (a restart, a failover): the pool hands out
    dead ones for a moment, each is thrown away on its error, and creates succeed again; nothing is
    half-written in between."""
    if not is_postgres:
        pytest.skip("the one-statement create is PostgreSQL's")
    assert_ok(api.post(CREATE, json=order_body(requestId="before-drop")), 201)
    before = row_counts()
    with app.app_context():
        url = db.engine.url
    outside = sa.create_engine(url, poolclass=sa.pool.NullPool)  # not one of the app's connections
    with outside.connect() as conn:
        dropped = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        conn.commit()
    outside.dispose()
    assert dropped >= 1
    codes = [api.post(CREATE, json=order_body(orderId=f"SO-DROP-{i}", requestId=f"drop-{i}")).status_code
             for i in range(6)]
    assert codes[-1] == 201 and set(codes) <= {201, 500}, codes
    after = row_counts()
    created = codes.count(201)
    assert {t: after[t] - before[t] for t in after} == {
        "payment_orders": created, "idempotency_keys": created, "audit_log": created, "outbox_events": created,
        "status_log": created}
