"""The refund API (docs/API.md §4): status codes, validation, idempotency by refundOrderId, the Refund shape."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.blueprints.api.refund_schemas import RefundOut
from app.blueprints.api.schemas import PageOut
from app.extensions import db
from app.models import Channel, Refund, Reseller
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.platform.actor import Actor
from tests.support.api import (
    API,
    CREATE,
    assert_error,
    assert_ok,
    conforms,
    order_body,
    order_row,
    send,
    txns_url,
    with_raw,
)

REFUND = f"{API}/payment/refund"


def _channel(code: str, kind: str) -> None:
    db.session.add(Channel(code=code, kind=kind, name=code, name_en=code, enabled=True, min_amount=Decimal("0.01"),
                           supports_refund=True, supports_partial_refund=True, confirm_timeout_seconds=900,
                           expire_seconds=86400, available_to_all=True, config={}, sort_order=0))


@pytest.fixture
def paid(app, api, make_reseller) -> dict:
    """An order of 1000.00 paid 600.00 by WALLET and 400.00 by CREDIT."""
    rid = make_reseller("R1001", credit_limit="100000.00", wallet="100000.00")
    o = assert_ok(api.post(CREATE, json=order_body(paymentAmount="1000.00")), 201)
    with app.app_context():
        _channel("WALLET", "WALLET")
        _channel("CREDIT", "CREDIT")
        db.session.commit()
        op = Actor(type="user", id="op")
        checkout.submit(op, None, rid, [AllocationIn(o["paymentId"], "600.00", "WALLET")])
        checkout.submit(op, None, rid, [AllocationIn(o["paymentId"], "400.00", "CREDIT")])
        db.session.remove()
    return o


def _body(payment_id, **over):
    body = {"refundOrderId": "RO-5501", "paymentId": payment_id, "refundAmount": "100.00",
            "refundReason": "spec change",
            "approvalInfo": {"approver": "li.wei", "approvedAt": "2026-11-22T10:00:00+08:00"},
            "refundType": "PARTIAL", "strategy": "LATEST", "transactionId": None}
    body.update(over)
    return body


def _refunds(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Refund))


def test_refund_created_replayed_and_read(app, api, paid):
    data = assert_ok(api.post(REFUND, json=_body(paid["paymentId"])), 201)
    conforms(RefundOut, data)
    assert data["status"] == "SUCCESS" and data["duplicate"] is False and data["refundAmount"] == "100.00"
    assert [p["transactionAmount"] for p in data["parts"]] == ["-100.00"]
    assert data["parts"][0]["paymentChannel"] == "CREDIT"  # LATEST: the newest payment
    again = assert_ok(api.post(REFUND, json=_body(paid["paymentId"])), 201)
    assert again["duplicate"] is True and again["refundId"] == data["refundId"]
    assert_error(api.post(REFUND, json=_body(paid["paymentId"], refundAmount="100.01")), 422,
                 "IDEMPOTENCY_KEY_REUSED")
    got = assert_ok(api.get(f"{REFUND}/RO-5501"))
    conforms(RefundOut, got)
    assert got["refundId"] == data["refundId"] and got["status"] == "SUCCESS"
    assert_error(api.get(f"{REFUND}/RO-NOPE"), 404, "NOT_FOUND")
    row = order_row(app, paid["paymentId"])
    assert row["refunded_amount"] == Decimal("100.00") and row["refund_status"] == "PARTIAL_REFUNDED"
    assert _refunds(app) == 1


def test_proportional_full_refund(app, api, paid):
    data = assert_ok(api.post(REFUND, json=_body(paid["paymentId"], refundAmount="1000.00", refundType="FULL",
                                                 strategy="PROPORTIONAL")), 201)
    assert sorted(p["transactionAmount"] for p in data["parts"]) == ["-400.00", "-600.00"]
    assert order_row(app, paid["paymentId"])["refund_status"] == "FULL_REFUNDED"


@pytest.mark.parametrize("over, fields", [
    ({"refundAmount": "0.00"}, ["refundAmount"]),
    ({"refundAmount": "-5.00"}, ["refundAmount"]),
    ({"refundAmount": "1.005"}, ["refundAmount"]),
    ({"refundType": "HALF"}, ["refundType"]),
    ({"strategy": "SPECIFIED"}, ["transactionId"]),
    ({"transactionId": "TXN1"}, ["transactionId"]),
    ({"refundAmount": "999.00", "refundType": "FULL"}, ["refundAmount"]),
    ({"colour": "red"}, ["colour"]),
])
def test_invalid_instructions_are_422(app, api, paid, over, fields):
    assert_error(api.post(REFUND, json=_body(paid["paymentId"], **over)), 422, "VALIDATION_ERROR", fields)
    assert _refunds(app) == 0


def test_three_decimals_as_a_json_number_is_422(api, paid):
    raw = with_raw({"refundOrderId": "RO-1", "paymentId": paid["paymentId"]}, "refundAmount", "1.005")
    assert_error(send(api, "post", REFUND, raw), 422, "VALIDATION_ERROR", ["refundAmount"])


def test_conflicts_and_unknowns(app, api, paid):
    assert_error(api.post(REFUND, json=_body("PAY-NOPE")), 404, "NOT_FOUND")
    body = assert_error(api.post(REFUND, json=_body(paid["paymentId"], refundAmount="1000.01")), 409,
                        "STATE_CONFLICT")
    assert "exceeds the refundable amount 1000.00" in body["message"]
    other = assert_ok(api.post(CREATE, json=order_body(orderId="SO-OTHER", paymentAmount="10.00")), 201)
    assert_error(api.post(REFUND, json=_body(other["paymentId"])), 409, "STATE_CONFLICT")  # nothing paid
    assert_error(api.post(REFUND, json=_body(paid["paymentId"], strategy="SPECIFIED", transactionId="TXN-NOPE")),
                 422, "VALIDATION_ERROR", ["transactionId"])
    assert _refunds(app) == 0


def test_specified_with_another_orders_transaction_is_422(app, api, paid):
    other = assert_ok(api.post(CREATE, json=order_body(orderId="SO-OTHER", paymentAmount="50.00")), 201)
    with app.app_context():
        rid = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == "R1001"))
        checkout.submit(Actor(type="user", id="op"), None, rid, [AllocationIn(other["paymentId"], "50.00", "WALLET")])
        db.session.remove()
    (foreign,) = assert_ok(api.get(txns_url(other["paymentId"])))["items"]
    body = _body(paid["paymentId"], strategy="SPECIFIED", transactionId=foreign["transactionId"])
    assert_error(api.post(REFUND, json=body), 422, "VALIDATION_ERROR", ["transactionId"])
    assert _refunds(app) == 0
    # ... while on its own order it is refunded.
    data = assert_ok(api.post(REFUND, json=_body(other["paymentId"], refundOrderId="RO-OWN", refundAmount="50.00",
                                                 strategy="SPECIFIED", transactionId=foreign["transactionId"])), 201)
    assert data["parts"][0]["originalTransactionId"] == foreign["transactionId"]


@pytest.mark.parametrize("flag, message", [("supports_partial_refund", "does not support partial refunds"),
                                           ("supports_refund", "does not support refunds")])
def test_channel_that_cannot_refund_is_409_and_nothing_is_stored(app, api, paid, flag, message):
    with app.app_context():
        db.session.execute(sa.update(Channel).where(Channel.code == "CREDIT").values({flag: False}))
        db.session.commit()
    body = assert_error(api.post(REFUND, json=_body(paid["paymentId"])), 409, "STATE_CONFLICT")
    assert body["message"] == f"channel CREDIT {message}"
    assert _refunds(app) == 0 and order_row(app, paid["paymentId"])["refund_status"] == "NO_REFUND"
    if flag == "supports_partial_refund":  # the whole of each payment is a full refund of it
        data = assert_ok(api.post(REFUND, json=_body(paid["paymentId"], refundAmount="1000.00",
                                                     refundType="FULL")), 201)
        assert data["status"] == "SUCCESS"


def test_refund_scope_is_required(api_with, paid):
    assert_error(api_with("payments").post(REFUND, json=_body(paid["paymentId"])), 403, "FORBIDDEN")
    assert_error(api_with("payments").get(f"{REFUND}/RO-5501"), 403, "FORBIDDEN")


# --- the refund list (docs/API.md §4) -----------------------------------------------------------

def _refund_at(app, api, payment_id: str, refund_order_id: str, amount: str, created_at, status: str | None = None):
    assert_ok(api.post(REFUND, json=_body(payment_id, refundOrderId=refund_order_id, refundAmount=amount)), 201)
    with app.app_context():
        values = {"created_at": created_at} | ({"status": status} if status else {})
        db.session.execute(sa.update(Refund).where(Refund.refund_order_id == refund_order_id).values(**values))
        db.session.commit()


@pytest.fixture
def refunds(app, api, paid, make_reseller):
    """RO-1 on 2026-03-01 23:59 (+08:00), RO-2 on 03-02 00:00 marked FAILED, RO-3 on 03-03 on paid;
    RO-9 on another order on 03-02."""
    other = assert_ok(api.post(CREATE, json=order_body(orderId="SO-OTHER", paymentAmount="50.00")), 201)
    with app.app_context():
        rid = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == "R1001"))
        checkout.submit(Actor(type="user", id="op"), None, rid, [AllocationIn(other["paymentId"], "50.00", "WALLET")])
        db.session.remove()
    _refund_at(app, api, paid["paymentId"], "RO-1", "10.00", datetime(2026, 3, 1, 15, 59, tzinfo=UTC))
    _refund_at(app, api, paid["paymentId"], "RO-2", "20.00", datetime(2026, 3, 1, 16, 0, tzinfo=UTC), "FAILED")
    _refund_at(app, api, paid["paymentId"], "RO-3", "30.00", datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    _refund_at(app, api, other["paymentId"], "RO-9", "5.00", datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    return {"paid": paid["paymentId"], "other": other["paymentId"]}


LIST_FILTERS = [
    ({}, ["RO-3", "RO-9", "RO-2", "RO-1"]),
    ({"paymentId": "PAID"}, ["RO-3", "RO-2", "RO-1"]),
    ({"paymentId": "OTHER"}, ["RO-9"]),
    ({"paymentId": "PAY20260101999999999999"}, []),  # unknown: an empty list, not a 404
    ({"status": "SUCCESS"}, ["RO-3", "RO-9", "RO-1"]),
    ({"status": "FAILED,PARTIALLY_FAILED"}, ["RO-2"]),
    ({"status": "PROCESSING"}, []),
    ({"createdFrom": "2026-03-02"}, ["RO-3", "RO-9", "RO-2"]),  # RO-2: 03-02 00:00 +08:00
    ({"createdTo": "2026-03-01"}, ["RO-1"]),  # RO-1: 03-01 23:59 +08:00
    ({"createdFrom": "2026-03-02", "createdTo": "2026-03-02"}, ["RO-9", "RO-2"]),
    ({"paymentId": "PAID", "status": "SUCCESS", "createdFrom": "2026-03-03"}, ["RO-3"]),
]


@pytest.mark.parametrize(("query", "expected"), LIST_FILTERS)
def test_refund_list_filters(api, refunds, row_counts, query, expected):
    query = {k: refunds[v.lower()] if k == "paymentId" and v in ("PAID", "OTHER") else v for k, v in query.items()}
    before = row_counts()
    d = assert_ok(api.get(REFUND, query_string=query))
    conforms(PageOut[RefundOut], d)
    assert [r["refundOrderId"] for r in d["items"]] == expected
    assert (d["total"], d["page"], d["pageSize"]) == (len(expected), 1, 50)
    assert row_counts() == before


def test_refund_list_items_are_whole_refunds_and_paginate(api, refunds):
    one = assert_ok(api.get(REFUND, query_string={"paymentId": refunds["paid"], "pageSize": 1, "page": 2}))
    assert (one["total"], one["pageSize"], [r["refundOrderId"] for r in one["items"]]) == (3, 1, ["RO-2"])
    item = one["items"][0]
    assert item == assert_ok(api.get(f"{REFUND}/RO-2"))  # the same Refund as the single read
    assert item["createdAt"] == "2026-03-02T00:00:00+08:00" and item["parts"]
    assert assert_ok(api.get(REFUND, query_string={"pageSize": 999}))["pageSize"] == 200


@pytest.mark.parametrize(("query", "field"), [
    ({"status": "DONE"}, "status"),
    ({"status": "SUCCESS,success"}, "status"),
    ({"createdFrom": "2026-02-30"}, "createdFrom"),
    ({"createdTo": "tomorrow"}, "createdTo"),
    ({"createdFrom": "2026-03-03", "createdTo": "2026-03-01"}, "createdFrom"),
    ({"page": "0"}, "page"),
    ({"pageSize": "x"}, "pageSize"),
    ({"refundStatus": "SUCCESS"}, "refundStatus"),  # unknown parameter
])
def test_bad_refund_list_queries_are_422(api, paid, row_counts, query, field):
    before = row_counts()
    assert_error(api.get(REFUND, query_string=query), 422, "VALIDATION_ERROR", [field])
    assert row_counts() == before


@pytest.mark.parametrize(("scopes", "status"), [("refunds", 200), ("payments", 403), ("finance", 403)])
def test_refund_list_needs_the_refunds_scope(api_with, paid, scopes, status):
    r = api_with(scopes).get(REFUND)
    assert r.status_code == status
