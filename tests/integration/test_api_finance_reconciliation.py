"""The finance API of docs/API.md §7: a day's reconciliation data, its exceptions and the payment
statistics. An empty day is 200 with zeros, a busy day adds up by payment type, channel and reseller
(and agrees with the exceptions of the day's runs), details are paginated, a bad date or grouping is
a 422 naming it, and everything needs the ``finance`` scope."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.blueprints.api.finance_schemas import ExceptionOut, ReconciliationDayOut, StatisticsOut
from app.domain.enums import StatementSource
from app.domain.timeutil import SHANGHAI, shanghai_today
from app.extensions import db
from app.models import Channel
from app.services.reconciliation import runs
from app.services.reconciliation.lines import Line
from app.services.reconciliation.statement_import import import_statement
from tests.support.api import CREATE, add_credit_record, add_transaction, assert_error, assert_ok, conforms, order_body
from tests.support.factories import add_channel

DAY_URL = "/api/v1/integration/finance/reconciliation/{}"
EXC_URL = "/api/v1/integration/finance/reconciliation/{}/exceptions"
STATS_URL = "/api/v1/integration/finance/payment-statistics"
TODAY = shanghai_today()


@pytest.fixture
def fin(api_with, reseller):
    return api_with("finance")


def _order(api, order_id, amount, payment_type="ADVANCE_PAYMENT", reseller="R1001", **extra) -> str:
    body = order_body(orderId=order_id, resellerId=reseller, paymentType=payment_type, paymentAmount=amount, **extra)
    return assert_ok(api.post(CREATE, json=body), 201)["paymentId"]


@pytest.fixture
def busy_day(app, api, make_reseller, reseller):
    """Today: every payment type, three channels, two resellers, one refund; yesterday one payment."""
    make_reseller("R2002")
    with app.app_context():
        add_channel("ONLINE_UNIONPAY", "ONLINE")
    a = _order(api, "SO-A", "1000.00")
    b = _order(api, "SO-B", "500.00", "FINAL_PAYMENT")
    c = _order(api, "SO-C", "80.00", "OTHER_FEE", reseller="R2002")
    record = add_credit_record(app, "R1001", "SO-X", "300.00")
    d = _order(api, "SO-X", "300.00", "CREDIT_REPAYMENT", creditRecordId=record)
    pay_a = add_transaction(app, a, "1000.00", channel="ONLINE_UNIONPAY", channel_txn="GW1")
    add_transaction(app, b, "500.00", channel="WALLET")
    add_transaction(app, c, "80.00", channel="CREDIT")
    add_transaction(app, d, "300.00", channel="ONLINE_UNIONPAY", channel_txn="GW2")
    add_transaction(app, a, "200.00", kind="REFUND", channel="ONLINE_UNIONPAY", original=pay_a)
    add_transaction(app, b, "1.00", status="FAILED", channel="WALLET")  # not money: never counted
    yesterday = datetime.combine(TODAY, time(0, 0), SHANGHAI) - timedelta(seconds=1)  # 23:59:59 the day before
    e = _order(api, "SO-E", "7.00")
    add_transaction(app, e, "7.00", channel="WALLET", created_at=yesterday)
    with app.app_context():  # the gateway's statement: one success we never heard of
        channel_id = db.session.scalar(sa.select(Channel.id).where(Channel.code == "ONLINE_UNIONPAY"))
        imported = import_statement(channel_id, "ONLINE_UNIONPAY", TODAY, StatementSource.GATEWAY,
                                    [Line("payment", "GW9", "CPX1", Decimal("88.00"), "SUCCESS", None)],
                                    runs.RECONCILIATION)
        runs.reconcile(channel_id, TODAY, imported.import_id)


def test_an_empty_day_is_200_with_zeros(fin):
    data = assert_ok(fin.get(DAY_URL.format("2026-01-01")))
    conforms(ReconciliationDayOut, data)
    assert data["reconciliationDate"] == "2026-01-01"
    assert data["summary"] == {"totalPaymentAmount": "0.00", "totalRefundAmount": "0.00", "netAmount": "0.00",
                               "totalPaymentCount": 0, "totalRefundCount": 0, "exceptionCount": 0,
                               "openExceptionCount": 0, "transactionCount": 0}
    for key in ("businessTypeSummaries", "channelSummaries", "resellerSummaries", "transactionDetails",
                "exceptionRecords"):
        assert data[key] == [], key
    assert assert_ok(fin.get(EXC_URL.format("2026-01-01"))) == {"items": [], "page": 1, "pageSize": 50, "total": 0}
    stats = assert_ok(fin.post(STATS_URL, json={"from": "2026-01-01", "to": "2026-01-31", "groupBy": ["channel"]}))
    assert stats == {"items": [], "page": 1, "pageSize": 50, "total": 0}


def test_a_busy_day_adds_up_every_way(fin, busy_day):
    data = assert_ok(fin.get(DAY_URL.format(TODAY.isoformat())))
    conforms(ReconciliationDayOut, data)
    assert data["summary"] == {"totalPaymentAmount": "1880.00", "totalRefundAmount": "200.00", "netAmount": "1680.00",
                               "totalPaymentCount": 4, "totalRefundCount": 1, "exceptionCount": 1,
                               "openExceptionCount": 1, "transactionCount": 5}
    by_type = {r["paymentType"]: (r["paymentAmount"], r["refundAmount"], r["netAmount"])
               for r in data["businessTypeSummaries"]}
    assert by_type == {"ADVANCE_PAYMENT": ("1000.00", "200.00", "800.00"),
                       "FINAL_PAYMENT": ("500.00", "0.00", "500.00"), "OTHER_FEE": ("80.00", "0.00", "80.00"),
                       "CREDIT_REPAYMENT": ("300.00", "0.00", "300.00")}
    channels = {r["channelCode"]: r for r in data["channelSummaries"]}
    assert {k: (v["paymentAmount"], v["refundCount"], v["reconciliationStatus"]) for k, v in channels.items()} == {
        "CREDIT": ("80.00", 0, "NOT_RECONCILED"), "ONLINE_UNIONPAY": ("1300.00", 1, "COMPLETED"),
        "WALLET": ("500.00", 0, "NOT_RECONCILED")}
    assert channels["ONLINE_UNIONPAY"]["exceptionCount"] == 1
    resellers = {r["resellerId"]: (r["netAmount"], r["resellerName"]) for r in data["resellerSummaries"]}
    assert resellers == {"R1001": ("1600.00", "Reseller R1001"), "R2002": ("80.00", "Reseller R2002")}
    # the parts add up to the summary, every way
    for key in ("businessTypeSummaries", "channelSummaries", "resellerSummaries"):
        assert sum(Decimal(r["netAmount"]) for r in data[key]) == Decimal("1680.00"), key
    assert [(x["transactionType"], x["amount"]) for x in data["transactionDetails"]][-1] == ("REFUND", "-200.00")
    [exc] = data["exceptionRecords"]
    assert (exc["exceptionClass"], exc["state"], exc["channelPaymentNo"], exc["channelAmount"]) == (
        "MISSING_IN_SYSTEM", "OPEN", "CPX1", "88.00")
    listed = assert_ok(fin.get(EXC_URL.format(TODAY.isoformat())))
    assert listed["items"] == data["exceptionRecords"] and listed["total"] == 1
    conforms(ExceptionOut, listed["items"][0])
    assert assert_ok(fin.get(EXC_URL.format(TODAY.isoformat()), query_string={"state": "RESOLVED"}))["total"] == 0
    assert assert_ok(fin.get(EXC_URL.format(TODAY.isoformat()),
                             query_string={"exceptionClass": "MISSING_IN_SYSTEM", "channel": "ONLINE_UNIONPAY"}
                             ))["total"] == 1
    # the day before holds only its own payment (23:59:59 Shanghai)
    before = assert_ok(fin.get(DAY_URL.format((TODAY - timedelta(days=1)).isoformat())))
    assert (before["summary"]["totalPaymentAmount"], before["summary"]["transactionCount"]) == ("7.00", 1)


def test_details_are_paginated_and_the_size_is_capped(fin, busy_day):
    url = DAY_URL.format(TODAY.isoformat())
    pages = [assert_ok(fin.get(url, query_string={"page": p, "pageSize": 2})) for p in (1, 2, 3, 4)]
    assert [len(p["transactionDetails"]) for p in pages] == [2, 2, 1, 0]
    assert len({x["transactionId"] for p in pages for x in p["transactionDetails"]}) == 5
    assert all(p["summary"]["transactionCount"] == 5 and p["summary"]["totalPaymentCount"] == 4 for p in pages)
    big = assert_ok(fin.get(url, query_string={"pageSize": 500}))
    assert big["pageSize"] == 200 and len(big["transactionDetails"]) == 5
    for bad in ({"page": 0}, {"pageSize": "x"}, {"page": -1}):
        assert_error(fin.get(url, query_string=bad), 422, "VALIDATION_ERROR", list(bad))
    assert_error(fin.get(EXC_URL.format(TODAY.isoformat()), query_string={"state": "CLOSED"}), 422,
                 "VALIDATION_ERROR", ["state"])


def test_statistics_group_by_every_key(fin, busy_day):
    day = TODAY.isoformat()
    first = (TODAY - timedelta(days=1)).isoformat()

    def stats(*group_by, **extra):
        data = assert_ok(fin.post(STATS_URL, json={"from": first, "to": day, "groupBy": list(group_by), **extra}))
        conforms(StatisticsOut, data)
        return data

    total = stats()["items"]
    assert [(x["paymentAmount"], x["refundAmount"], x["netAmount"], x["paymentCount"]) for x in total] == [
        ("1887.00", "200.00", "1687.00", 5)]
    assert {x["day"]: x["netAmount"] for x in stats("day")["items"]} == {first: "7.00", day: "1680.00"}
    assert {x["channel"]: x["paymentAmount"] for x in stats("channel")["items"]} == {
        "CREDIT": "80.00", "ONLINE_UNIONPAY": "1300.00", "WALLET": "507.00"}
    assert {x["reseller"]: x["netAmount"] for x in stats("reseller")["items"]} == {"R1001": "1607.00",
                                                                                   "R2002": "80.00"}
    assert {x["paymentType"] for x in stats("paymentType")["items"]} == {
        "ADVANCE_PAYMENT", "FINAL_PAYMENT", "OTHER_FEE", "CREDIT_REPAYMENT"}
    both = stats("day", "channel")
    assert {(x["day"], x["channel"]): x["paymentAmount"] for x in both["items"]}[(first, "WALLET")] == "7.00"
    assert both["total"] == 4 and set(both["items"][0]) == {"day", "channel", "paymentAmount", "refundAmount",
                                                            "netAmount", "paymentCount", "refundCount"}
    paged = stats("day", "channel", page=2, pageSize=3)
    assert (len(paged["items"]), paged["total"], paged["page"]) == (1, 4, 2)


@pytest.mark.parametrize("body, fields", [
    ({"to": "2026-11-30"}, ["from"]),
    ({"from": "2026-11-01"}, ["to"]),
    ({"from": "2026-11-30", "to": "2026-11-01"}, ["to"]),
    ({"from": "2026-11-01", "to": "2026-11-31"}, ["to"]),
    ({"from": "2025-01-01", "to": "2026-11-30"}, ["to"]),
    ({"from": "2026-11-01", "to": "2026-11-30", "groupBy": ["month"]}, ["groupBy.0"]),
    ({"from": "2026-11-01", "to": "2026-11-30", "groupBy": ["day", "day"]}, ["groupBy"]),
    ({"from": "2026-11-01", "to": "2026-11-30", "groupBy": "day"}, ["groupBy"]),
    ({"from": "2026-11-01", "to": "2026-11-30", "sortBy": "x"}, ["sortBy"]),
])
def test_bad_statistics_requests_name_the_field(fin, body, fields):
    assert_error(fin.post(STATS_URL, json=body), 422, "VALIDATION_ERROR", fields)


@pytest.mark.parametrize("day", ["2026-13-01", "2026-02-30", "20261101", "yesterday", "1900-01-01"])
def test_a_bad_date_in_the_path_is_a_422_naming_it(fin, day):
    assert_error(fin.get(DAY_URL.format(day)), 422, "VALIDATION_ERROR", ["date"])
    assert_error(fin.get(EXC_URL.format(day)), 422, "VALIDATION_ERROR", ["date"])


def test_every_operation_needs_the_finance_scope(api_with, client, reseller):
    other = api_with("payments,refunds,credit,resellers,disburse,webhooks")
    calls = [lambda a: a.get(DAY_URL.format("2026-11-01")), lambda a: a.get(EXC_URL.format("2026-11-01")),
             lambda a: a.post(STATS_URL, json={"from": "2026-11-01", "to": "2026-11-30"})]
    for call in calls:
        assert_error(call(other), 403, "FORBIDDEN")
    assert client.get(DAY_URL.format("2026-11-01")).status_code == 401
    assert client.post(STATS_URL, json={"from": "2026-11-01", "to": "2026-11-30"}).status_code == 401
