"""Concurrent creates: one idempotency key or one natural key makes exactly one order,
and no caller ever sees a 5xx. Runs on both databases; PostgreSQL is where it bites."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, IdempotencyKey, OutboxEvent, PaymentOrder, StatusLog

N = 50


def _body(**over):
    body = {"orderId": "SO-CONC-1", "resellerId": "R1001", "paymentType": "ADVANCE_PAYMENT",
            "paymentAmount": "1000.00"}
    body.update(over)
    return body


def _fire(app, key: str, bodies: list[dict], headers: list[dict] | None = None) -> list:
    barrier = threading.Barrier(len(bodies))

    def one(i):
        client = app.test_client()
        h = {"Authorization": f"Bearer {key}"}
        if headers:
            h.update(headers[i])
        barrier.wait()
        r = client.post("/api/v1/integration/payment/create", json=bodies[i], headers=h)
        return r.status_code, r.get_json()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, range(len(bodies))))


def _counts(app) -> dict:
    with app.app_context():
        return {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
                for m in (PaymentOrder, IdempotencyKey, AuditEntry, OutboxEvent, StatusLog)}


def test_same_request_id_concurrently_makes_one_order(app, make_api_key, make_reseller):
    make_reseller("R1001")
    key = make_api_key("payments")
    results = _fire(app, key, [_body(requestId="same-key")] * N)
    codes = sorted(c for c, _ in results)
    assert all(c in (201, 409) for c in codes), codes
    assert all(j["code"] == "REQUEST_IN_PROGRESS" for c, j in results if c == 409)
    fresh = [j for c, j in results if c == 201 and not j["data"]["duplicate"]]
    assert len(fresh) == 1
    payment_ids = {j["data"]["paymentId"] for c, j in results if c == 201}
    assert payment_ids == {fresh[0]["data"]["paymentId"]}
    assert _counts(app) == {"payment_orders": 1, "idempotency_keys": 1, "audit_log": 2, "outbox_events": 1,
                            "status_log": 1}  # audit: the client creation + the order


def test_same_idempotency_header_concurrently_makes_one_order(app, make_api_key, make_reseller):
    make_reseller("R1001")
    key = make_api_key("payments")
    # Bodies differ only in requestId, which the header makes irrelevant.
    bodies = [_body(requestId=f"r{i}") for i in range(N)]
    results = _fire(app, key, bodies, [{"Idempotency-Key": "hdr-1"}] * N)
    assert all(c in (201, 409) for c, _ in results), [c for c, _ in results]
    assert sum(1 for c, j in results if c == 201 and not j["data"]["duplicate"]) == 1
    assert _counts(app)["payment_orders"] == 1


def test_same_natural_key_concurrently_makes_one_order(app, make_api_key, make_reseller):
    make_reseller("R1001")
    key = make_api_key("payments")
    results = _fire(app, key, [_body()] * N)
    codes = [c for c, _ in results]
    assert codes.count(201) == 1, codes
    assert codes.count(200) == N - 1, codes
    assert all(j["data"]["duplicate"] for c, j in results if c == 200)
    assert len({j["data"]["paymentId"] for _, j in results}) == 1
    counts = _counts(app)
    assert counts["payment_orders"] == 1 and counts["outbox_events"] == 1 and counts["status_log"] == 1


def test_natural_key_with_different_amounts_concurrently(app, make_api_key, make_reseller):
    make_reseller("R1001")
    key = make_api_key("payments")
    bodies = [_body(paymentAmount="1000.00" if i % 2 else "2000.00") for i in range(20)]
    results = _fire(app, key, bodies)
    assert [c for c, _ in results].count(201) == 1
    winner = next(j["data"] for c, j in results if c == 201)
    for (c, j), body in zip(results, bodies, strict=True):
        if c == 201:
            continue
        if body["paymentAmount"] == winner["paymentAmount"]:
            assert c == 200 and j["data"]["paymentId"] == winner["paymentId"]
        else:
            assert c == 409 and j["code"] == "DUPLICATE_PAYMENT_ORDER"
    assert _counts(app)["payment_orders"] == 1
