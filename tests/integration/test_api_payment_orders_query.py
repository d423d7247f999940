"""Reading payment orders (docs/API.md §1, §3): status with transactions, the filtered list with
pagination, and the transactions list; the documented schemas match the answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.blueprints.api.schemas import PageOut, PaymentOrderOut, PaymentOrderStatusOut, TransactionOut
from tests.support.api import (
    CREATE,
    LIST,
    add_transaction,
    assert_error,
    assert_ok,
    assert_order_shape,
    assert_shanghai_time,
    conforms,
    order_body,
    order_url,
    set_order,
    status_url,
    txns_url,
)

UNKNOWN = "PAY20260101999999999999"


def _create(api, **over) -> dict:
    return assert_ok(api.post(CREATE, json=order_body(**over)), 201)


def test_status_includes_payment_and_refund_transactions(app, api, order, row_counts):
    pid = order["paymentId"]
    pay1 = add_transaction(app, pid, "300000.00", channel_txn="GW-1", created_at=datetime.now(UTC) - timedelta(hours=2))
    pay2 = add_transaction(app, pid, "200000.00", channel="WALLET", created_at=datetime.now(UTC) - timedelta(hours=1))
    failed = add_transaction(app, pid, "50.00", status="FAILED")
    refund = add_transaction(app, pid, "100000.00", kind="REFUND", original=pay1)
    before = row_counts()
    s = assert_ok(api.get(status_url(pid)))
    conforms(PaymentOrderStatusOut, s)
    assert_order_shape(s)
    assert (s["paidAmount"], s["refundedAmount"], s["actualAmount"]) == ("500000.00", "100000.00", "400000.00")
    assert (s["paymentStatus"], s["refundStatus"]) == ("PARTIAL_PAID", "PARTIAL_REFUNDED")
    assert [t["transactionId"] for t in s["paymentTransactions"]] == [failed, pay2, pay1]
    assert [t["transactionId"] for t in s["refundTransactions"]] == [refund]
    r = s["refundTransactions"][0]
    assert (r["transactionAmount"], r["originalTransactionId"], r["refundableAmount"]) == ("-100000.00", pay1, "0.00")
    p1 = s["paymentTransactions"][-1]
    assert (p1["transactionAmount"], p1["refundableAmount"], p1["channelTransactionId"]) == (
        "300000.00", "200000.00", "GW-1")
    assert (p1["paymentChannel"], p1["paymentId"], p1["orderId"]) == ("ONLINE_UNIONPAY", pid, order["orderId"])
    assert_shanghai_time(p1["createTime"])
    assert_shanghai_time(p1["completeTime"])
    assert row_counts() == before  # reads store nothing


def test_status_of_a_new_order_has_empty_lists(api, order):
    s = assert_ok(api.get(status_url(order["paymentId"])))
    conforms(PaymentOrderStatusOut, s)
    assert s["paymentTransactions"] == [] and s["refundTransactions"] == []


def test_transactions_newest_first_and_paginated(app, api, order):
    pid = order["paymentId"]
    now = datetime.now(UTC)
    made = [add_transaction(app, pid, "1000.00", created_at=now - timedelta(minutes=10 - i)) for i in range(5)]
    d = assert_ok(api.get(txns_url(pid)))
    conforms(PageOut[TransactionOut], d)
    assert (d["page"], d["pageSize"], d["total"]) == (1, 50, 5)
    assert [t["transactionId"] for t in d["items"]] == made[::-1]
    p2 = assert_ok(api.get(txns_url(pid), query_string={"page": 2, "pageSize": 2}))
    assert [t["transactionId"] for t in p2["items"]] == made[::-1][2:4]
    assert assert_ok(api.get(txns_url(pid), query_string={"pageSize": 500}))["pageSize"] == 200


@pytest.mark.parametrize("url", [status_url(UNKNOWN), txns_url(UNKNOWN)])
def test_unknown_payment_id_is_404(api, order, row_counts, url):
    before = row_counts()
    assert_error(api.get(url), 404, "NOT_FOUND")
    assert row_counts() == before


@pytest.mark.parametrize("scopes", ["payments", "credit", "refunds", "finance"])
def test_read_scopes(api_with, order, scopes):
    caller = api_with(scopes)
    assert_ok(caller.get(status_url(order["paymentId"])))
    assert_ok(caller.get(LIST))


@pytest.mark.parametrize("scopes", ["resellers", "disburse"])
def test_reads_need_a_read_scope(api_with, order, scopes):
    caller = api_with(scopes)
    for url in (status_url(order["paymentId"]), txns_url(order["paymentId"]), LIST):
        assert_error(caller.get(url), 403, "FORBIDDEN")


@pytest.fixture
def catalogue(app, api, make_reseller):
    """Five orders with distinct attributes; returns name -> paymentId."""
    make_reseller("R1001")
    make_reseller("R2002")
    o = {
        "a": _create(api, orderId="SO-A", paymentAmount="100.00"),
        "b": _create(api, orderId="SO-B", paymentType="FINAL_PAYMENT", paymentAmount="500.00"),
        "c": _create(api, orderId="SO-C", resellerId="R2002", paymentAmount="1000.00", relatedBusinessId="DO-9",
                     relatedBusinessType="DELIVERY_ORDER"),
        "d": _create(api, orderId="SO-A", paymentType="OTHER_FEE", paymentAmount="1000.01"),
        "e": _create(api, orderId="SO-E", paymentAmount="99.99"),
    }
    ids = {k: v["paymentId"] for k, v in o.items()}
    add_transaction(app, ids["b"], "500.00", channel="ONLINE_UNIONPAY", channel_txn="GW-777")
    add_transaction(app, ids["c"], "10.00", channel="WALLET", channel_txn="WL-1")
    assert_ok(api.patch(order_url(ids["e"]), json={"action": "FREEZE"}))
    # Creation times around a Shanghai midnight: 2026-03-01 23:30 and 2026-03-02 00:10 (+08:00).
    day1_late = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    set_order(app, ids["a"], created_at=day1_late)
    set_order(app, ids["b"], created_at=day1_late + timedelta(minutes=40))
    set_order(app, ids["c"], created_at=datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    set_order(app, ids["d"], created_at=datetime(2026, 2, 28, 16, 0, tzinfo=UTC))  # 2026-03-01 00:00 +08:00
    set_order(app, ids["e"], created_at=datetime(2026, 3, 3, 15, 59, 59, tzinfo=UTC))  # 23:59:59 +08:00
    return ids


FILTERS = [
    ({}, "abcde"),
    ({"orderId": "SO-A"}, "ad"),
    ({"orderId": "SO-A,SO-C"}, "acd"),
    ({"orderId": "SO-B, SO-E"}, "be"),
    ({"resellerId": "R2002"}, "c"),
    ({"resellerId": "R9999"}, ""),
    ({"channelTransactionId": "GW-777"}, "b"),
    ({"channel": "WALLET"}, "c"),
    ({"channel": "ONLINE_UNIONPAY"}, "b"),
    ({"channel": "WALLET", "channelTransactionId": "GW-777"}, ""),
    ({"relatedBusinessId": "DO-9"}, "c"),
    ({"paymentStatus": "UNPAID"}, "ad"),
    ({"paymentStatus": "PAID,FROZEN"}, "be"),
    ({"paymentStatus": "PARTIAL_PAID"}, "c"),
    ({"paymentType": "FINAL_PAYMENT,OTHER_FEE"}, "bd"),
    ({"paymentType": "ADVANCE_PAYMENT", "resellerId": "R1001"}, "ae"),
    ({"createdFrom": "2026-03-01", "createdTo": "2026-03-01"}, "ad"),
    ({"createdFrom": "2026-03-02", "createdTo": "2026-03-02"}, "b"),
    ({"createdFrom": "2026-03-02"}, "bce"),
    ({"createdTo": "2026-03-02"}, "abd"),
    ({"createdFrom": "2026-03-03", "createdTo": "2026-03-03"}, "ce"),
    ({"minAmount": "500.00"}, "bcd"),
    ({"maxAmount": "1000"}, "abce"),
    ({"minAmount": "100", "maxAmount": "1000.00"}, "abc"),
    ({"minAmount": "1000.01", "maxAmount": "1000.01"}, "d"),
    ({"orderId": "SO-A", "paymentType": "OTHER_FEE", "minAmount": "1000.01"}, "d"),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_list_filters(api, catalogue, query, expected):
    d = assert_ok(api.get(LIST, query_string=query))
    conforms(PageOut[PaymentOrderOut], d)
    assert {i["paymentId"] for i in d["items"]} == {catalogue[k] for k in expected}
    assert d["total"] == len(expected) and (d["page"], d["pageSize"]) == (1, 50)
    for item in d["items"]:
        assert_order_shape(item)


def test_list_is_newest_first(api, catalogue):
    d = assert_ok(api.get(LIST))
    assert [i["paymentId"] for i in d["items"]] == [catalogue[k] for k in "ecbad"]


def test_pagination_and_page_size_cap(app, api, reseller):
    for i in range(205):
        _create(api, orderId=f"SO-{i:04d}", paymentAmount="1.00")
    d = assert_ok(api.get(LIST, query_string={"pageSize": 500}))
    assert (d["page"], d["pageSize"], d["total"], len(d["items"])) == (1, 200, 205, 200)
    conforms(PageOut[PaymentOrderOut], d)
    p2 = assert_ok(api.get(LIST, query_string={"pageSize": 200, "page": 2}))
    assert (p2["page"], p2["pageSize"], p2["total"], len(p2["items"])) == (2, 200, 205, 5)
    seen = {i["paymentId"] for i in d["items"]} | {i["paymentId"] for i in p2["items"]}
    assert len(seen) == 205
    small = [assert_ok(api.get(LIST, query_string={"pageSize": 3, "page": p})) for p in (1, 2)]
    assert len({i["paymentId"] for s in small for i in s["items"]}) == 6
    beyond = assert_ok(api.get(LIST, query_string={"page": 99}))
    assert beyond["items"] == [] and beyond["total"] == 205


@pytest.mark.parametrize(("query", "field"), [
    ({"paymentStatus": "BOGUS"}, "paymentStatus"),
    ({"paymentStatus": "PAID,bogus"}, "paymentStatus"),
    ({"paymentType": "CASH"}, "paymentType"),
    ({"createdFrom": "2026-13-01"}, "createdFrom"),
    ({"createdTo": "yesterday"}, "createdTo"),
    ({"createdFrom": "2026-03-05", "createdTo": "2026-03-01"}, "createdFrom"),
    ({"minAmount": "abc"}, "minAmount"),
    ({"minAmount": "1.001"}, "minAmount"),
    ({"maxAmount": "-1"}, "maxAmount"),
    ({"minAmount": "10", "maxAmount": "5"}, "minAmount"),
    ({"page": "0"}, "page"),
    ({"page": "x"}, "page"),
    ({"pageSize": "0"}, "pageSize"),
    ({"pageSize": "-5"}, "pageSize"),
])
def test_bad_list_queries_are_422(api, reseller, query, field):
    assert_error(api.get(LIST, query_string=query), 422, "VALIDATION_ERROR", [field])


@pytest.mark.parametrize("query", [{"page": "0"}, {"pageSize": "abc"}])
def test_bad_transaction_page_is_422(api, order, query):
    assert_error(api.get(txns_url(order["paymentId"]), query_string=query), 422, "VALIDATION_ERROR",
                 list(query))


# --- paidFrom/paidTo, updatedFrom/updatedTo, refundStatus (docs/API.md §3) ----------------------

def _sh(day: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    """2026-03-<day> hh:mm:ss in Asia/Shanghai, as UTC."""
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC) + timedelta(hours=-8)


@pytest.fixture
def paid_catalogue(app, api, reseller):
    """a: paid 03-01 and 03-05 (last 03-05); b: paid 03-02 23:59:59, a failed try 03-06; c: only a failed
    try; d: paid 03-03 00:00:00 and partly refunded. Updated on 03-01, 03-02, 03-03 00:00, 03-04."""
    ids = {k: _create(api, orderId=f"SO-P{k.upper()}", paymentAmount="1000.00")["paymentId"] for k in "abcd"}
    add_transaction(app, ids["a"], "100.00", created_at=_sh(1))
    add_transaction(app, ids["a"], "100.00", created_at=_sh(5))
    add_transaction(app, ids["b"], "100.00", created_at=_sh(2, 23, 59, 59))
    add_transaction(app, ids["b"], "100.00", status="FAILED", created_at=_sh(6))
    add_transaction(app, ids["c"], "100.00", status="FAILED", created_at=_sh(4))
    first = add_transaction(app, ids["d"], "100.00", created_at=_sh(3, 0, 0, 0))
    add_transaction(app, ids["d"], "30.00", kind="REFUND", original=first, created_at=_sh(7))
    for key, when in zip("abcd", (_sh(1), _sh(2), _sh(3, 0, 0, 0), _sh(4)), strict=True):
        set_order(app, ids[key], updated_at=when)
    return ids


DATE_FILTERS = [
    ({"paidFrom": "2026-03-03"}, "ad"),
    ({"paidTo": "2026-03-02"}, "b"),
    ({"paidFrom": "2026-03-01", "paidTo": "2026-03-04"}, "bd"),
    ({"paidFrom": "2026-03-05", "paidTo": "2026-03-05"}, "a"),
    ({"paidFrom": "2026-03-02", "paidTo": "2026-03-02"}, "b"),
    ({"paidFrom": "2026-03-06"}, ""),  # a failed try is not a payment
    ({"paidTo": "2026-03-01"}, ""),  # a paid on 03-01, but its last payment is later
    ({"updatedFrom": "2026-03-02", "updatedTo": "2026-03-03"}, "bc"),
    ({"updatedFrom": "2026-03-03"}, "cd"),
    ({"updatedTo": "2026-03-01"}, "a"),
    ({"refundStatus": "NO_REFUND"}, "abc"),
    ({"refundStatus": "PARTIAL_REFUNDED,FULL_REFUNDED"}, "d"),
    ({"refundStatus": "REFUNDING"}, ""),
    ({"refundStatus": "NO_REFUND", "paidFrom": "2026-03-03"}, "a"),
]


@pytest.mark.parametrize(("query", "expected"), DATE_FILTERS)
def test_list_filters_by_paid_updated_and_refund_status(api, paid_catalogue, query, expected):
    d = assert_ok(api.get(LIST, query_string=query))
    conforms(PageOut[PaymentOrderOut], d)
    assert {i["paymentId"] for i in d["items"]} == {paid_catalogue[k] for k in expected}
    assert d["total"] == len(expected)


@pytest.mark.parametrize(("query", "field"), [
    ({"refundStatus": "REFUNDED"}, "refundStatus"),
    ({"refundStatus": "NO_REFUND,partial_refunded"}, "refundStatus"),
    ({"paidFrom": "2026-02-30"}, "paidFrom"),
    ({"paidTo": "03/05/2026"}, "paidTo"),
    ({"paidFrom": "2026-03-05", "paidTo": "2026-03-04"}, "paidFrom"),
    ({"updatedFrom": "today"}, "updatedFrom"),
    ({"updatedTo": "2026-3-5"}, "updatedTo"),
    ({"updatedFrom": "2026-03-05", "updatedTo": "2026-03-01"}, "updatedFrom"),
])
def test_bad_new_list_filters_are_422(api, reseller, row_counts, query, field):
    before = row_counts()
    assert_error(api.get(LIST, query_string=query), 422, "VALIDATION_ERROR", [field])
    assert row_counts() == before


def test_new_list_filters_are_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    params = {p["name"]: p for p in doc["paths"]["/integration/payment"]["get"]["parameters"]}
    for name in ("paidFrom", "paidTo", "updatedFrom", "updatedTo"):
        assert params[name]["schema"]["format"] == "date", name
    assert "RefundStatus" in params["refundStatus"]["description"]
