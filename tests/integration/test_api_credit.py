"""Credit (docs/API.md §3 CREDIT_REPAYMENT, §5; docs/DOMAIN.md §3 creation rules): repayment orders bound to
credit records, limits, records and repayment lists."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.blueprints.api.schemas import CreditLimitOut, CreditRecordOut, PageOut, PaymentOrderOut
from app.extensions import db
from app.models import CreditRecord, Reseller
from tests.support.api import (
    CREATE,
    CREDIT_RECORDS,
    REPAYMENT,
    add_credit_record,
    add_transaction,
    assert_error,
    assert_ok,
    assert_order_shape,
    conforms,
    limit_url,
    order_body,
    order_url,
    set_order,
    trail,
)


@pytest.fixture
def two_resellers(make_reseller):
    make_reseller("R1001", credit_limit="500000.00")
    make_reseller("R2002", credit_limit="100000.00")


@pytest.fixture
def record(app, two_resellers) -> str:
    """A credit record of R1001 bound to order SO-CR-1 with 100000.00 outstanding."""
    return add_credit_record(app, "R1001", "SO-CR-1", "100000.00")


def repay_body(record_id, **over) -> dict:
    return order_body(orderId="SO-CR-1", paymentType="CREDIT_REPAYMENT", paymentAmount="100000.00",
                      creditRecordId=record_id) | over


def test_repayment_order_is_bound_to_the_record(app, api, record, row_counts):
    before = row_counts()
    d = assert_ok(api.post(CREATE, json=repay_body(record, requestId="rp-1")), 201)
    conforms(PaymentOrderOut, d)
    assert_order_shape(d)
    assert (d["paymentType"], d["relatedBusinessId"], d["relatedBusinessType"]) == (
        "CREDIT_REPAYMENT", record, "CREDIT_RECORD")
    assert d["paymentAmount"] == "100000.00"
    after = row_counts()
    assert after["payment_orders"] - before["payment_orders"] == 1
    assert trail(app, d["paymentId"])[0] == 1 and trail(app, d["paymentId"])[1] >= 1


@pytest.mark.parametrize("scopes", ["credit", "payments"])
def test_repayment_scopes(api_with, record, scopes):
    assert_ok(api_with(scopes).post(CREATE, json=repay_body(record)), 201)


def test_repayment_without_credit_record_is_422(api, record, row_counts):
    before = row_counts()
    body = repay_body(record)
    del body["creditRecordId"]
    assert_error(api.post(CREATE, json=body), 422, "VALIDATION_ERROR", ["creditRecordId"])
    assert_error(api.post(CREATE, json=repay_body(record, relatedBusinessId="CR-OTHER")), 422,
                 "VALIDATION_ERROR", ["relatedBusinessId"])
    assert row_counts() == before


@pytest.mark.parametrize("case", ["unknown", "other_reseller", "other_order"])
def test_credit_record_mismatch(app, api, record, row_counts, case):
    if case == "unknown":
        rec, body = "CR20260101000000000000", {}
    elif case == "other_reseller":
        rec, body = add_credit_record(app, "R2002", "SO-CR-1", "100000.00"), {}
    else:
        rec, body = add_credit_record(app, "R1001", "SO-CR-2", "100000.00"), {}
    before = row_counts()
    assert_error(api.post(CREATE, json=repay_body(rec, requestId="mm-1", **body)), 422,
                 "CREDIT_RECORD_MISMATCH", ["creditRecordId"])
    assert row_counts() == before


def test_repayment_above_outstanding_is_422(app, api, two_resellers, row_counts):
    rec = add_credit_record(app, "R1001", "SO-CR-1", "100000.00", outstanding="40000.00")
    before = row_counts()
    assert_error(api.post(CREATE, json=repay_body(rec, paymentAmount="40000.01")), 422, "VALIDATION_ERROR",
                 ["paymentAmount"])
    assert row_counts() == before
    assert_ok(api.post(CREATE, json=repay_body(rec, paymentAmount="40000.00")), 201)


def test_a_repaid_record_takes_no_repayment(app, api, two_resellers, row_counts):
    rec = add_credit_record(app, "R1001", "SO-CR-1", "100000.00", outstanding="0.00")
    before = row_counts()
    assert_error(api.post(CREATE, json=repay_body(rec, paymentAmount="0.01")), 422, "VALIDATION_ERROR",
                 ["paymentAmount"])
    assert row_counts() == before


def test_repayment_above_outstanding_minus_open_repayments_is_422(app, api, record, row_counts):
    first = assert_ok(api.post(CREATE, json=repay_body(record, paymentAmount="60000.00")), 201)
    before = row_counts()
    # 100000.00 owed, 60000.00 already asked for by an open repayment order: at most 40000.00.
    b = assert_error(api.post(CREATE, json=repay_body(record, paymentAmount="40000.01")), 422, "VALIDATION_ERROR",
                     ["paymentAmount"])
    assert "40000.00" in b["message"]
    assert row_counts() == before
    # Partly paid: only the unpaid part of the open order counts (owed 90000.00, open unpaid 50000.00).
    add_transaction(app, first["paymentId"], "10000.00")
    with app.app_context():
        db.session.execute(sa.update(CreditRecord).where(CreditRecord.credit_record_id == record)
                           .values(outstanding_amount="90000.00"))
        db.session.commit()
    assert_error(api.post(CREATE, json=repay_body(record, paymentAmount="40000.01")), 422, "VALIDATION_ERROR",
                 ["paymentAmount"])
    # Once the open order is STOPPED it no longer counts.
    assert_ok(api.patch(order_url(first["paymentId"]), json={"action": "STOP"}))
    assert_ok(api.post(CREATE, json=repay_body(record, paymentAmount="90000.00")), 201)


@pytest.mark.parametrize("amount", ["100000.00", "60000.00"])
def test_resending_a_repayment_is_a_natural_key_duplicate(api, record, row_counts, amount):
    """A resend (no requestId) of the live repayment order is answered 200 duplicate, even though its
    own amount already takes up what is owed; a different amount that fits is 409 (natural key)."""
    first = assert_ok(api.post(CREATE, json=repay_body(record, paymentAmount=amount)), 201)
    before = row_counts()
    again = assert_ok(api.post(CREATE, json=repay_body(record, paymentAmount=amount)), 200)
    assert again["duplicate"] is True and again["paymentId"] == first["paymentId"]
    if amount == "60000.00":
        assert_error(api.post(CREATE, json=repay_body(record, paymentAmount="30000.00")), 409,
                     "DUPLICATE_PAYMENT_ORDER")
    assert row_counts() == before


def test_patching_a_repayment_amount_is_bounded_by_the_record(api, record, row_counts):
    order = assert_ok(api.post(CREATE, json=repay_body(record, paymentAmount="60000.00")), 201)
    url = order_url(order["paymentId"])
    assert assert_ok(api.patch(url, json={"paymentAmount": "100000.00"}))["paymentAmount"] == "100000.00"
    before = row_counts()
    assert_error(api.patch(url, json={"paymentAmount": "100000.01"}), 422, "VALIDATION_ERROR", ["paymentAmount"])
    assert row_counts() == before


# --- POST /api/v1/integration/credit/repayment (seed shape) -----------------------------------------

def seed_body(record_id, **over) -> dict:
    return {"creditRecordId": record_id, "orderId": "SO-CR-1", "resellerId": "R1001",
            "repaymentAmount": "25000.00", "repaymentReason": "monthly settlement",
            "repaymentDeadline": "2026-12-20T18:00:00+08:00", "businessRemark": "batch 7",
            "requestId": "cr-rp-1"} | over


def test_repayment_endpoint_creates_a_repayment_order(app, api_with, record, row_counts):
    credit = api_with("credit")
    before = row_counts()
    r = credit.post(REPAYMENT, json=seed_body(record))
    d = assert_ok(r, 201)
    conforms(PaymentOrderOut, d)
    assert (d["paymentType"], d["paymentAmount"], d["relatedBusinessId"]) == ("CREDIT_REPAYMENT", "25000.00", record)
    assert d["paymentDeadline"] == "2026-12-20T18:00:00+08:00"
    assert "monthly settlement" in d["businessDesc"] and "batch 7" in d["businessDesc"]
    assert d["duplicate"] is False
    after = row_counts()
    assert {k: after[k] - before[k] for k in after} == {
        "payment_orders": 1, "idempotency_keys": 1, "audit_log": 1, "outbox_events": 1, "status_log": 1}
    again = assert_ok(credit.post(REPAYMENT, json=seed_body(record)), 201)
    assert again["duplicate"] is True and again["paymentId"] == d["paymentId"]
    assert_error(credit.post(REPAYMENT, json=seed_body(record, repaymentAmount="1.00")), 422,
                 "IDEMPOTENCY_KEY_REUSED")
    # Listed among the record's repayment orders.
    lst = assert_ok(credit.get(REPAYMENT, query_string={"creditRecordId": record}))
    conforms(PageOut[PaymentOrderOut], lst)
    assert [i["paymentId"] for i in lst["items"]] == [d["paymentId"]] and lst["total"] == 1


@pytest.mark.parametrize(("over", "code", "field"), [
    ({"repaymentAmount": "100000.01"}, "VALIDATION_ERROR", "repaymentAmount"),
    ({"repaymentAmount": "0"}, "VALIDATION_ERROR", "repaymentAmount"),
    ({"repaymentAmount": "1.005"}, "VALIDATION_ERROR", "repaymentAmount"),
    ({"repaymentDeadline": "2026-13-01"}, "VALIDATION_ERROR", "repaymentDeadline"),
    ({"creditRecordId": None}, "VALIDATION_ERROR", "creditRecordId"),
    ({"paymentAmount": "1.00"}, "VALIDATION_ERROR", "paymentAmount"),
    ({"resellerId": "R9999"}, "VALIDATION_ERROR", "resellerId"),
    ({"creditRecordId": "CR-NOPE"}, "CREDIT_RECORD_MISMATCH", "creditRecordId"),
    ({"orderId": "SO-CR-2"}, "CREDIT_RECORD_MISMATCH", "creditRecordId"),
    ({"resellerId": "R2002"}, "CREDIT_RECORD_MISMATCH", "creditRecordId"),
])
def test_bad_repayment_request(api_with, record, row_counts, over, code, field):
    credit = api_with("credit")
    before = row_counts()
    assert_error(credit.post(REPAYMENT, json=seed_body(record, **over)), 422, code, [field])
    assert row_counts() == before


def test_repayment_endpoint_needs_the_credit_scope(api_with, record, row_counts):
    caller = api_with("payments,finance,refunds,resellers,disburse")
    before = row_counts()
    assert_error(caller.post(REPAYMENT, json=seed_body(record)), 403, "FORBIDDEN")
    for url in (limit_url("R1001"), CREDIT_RECORDS, REPAYMENT):
        assert_error(caller.get(url), 403, "FORBIDDEN")
    assert row_counts() == before


# --- limits and records -----------------------------------------------------------------------------

def test_credit_limit(app, api_with, two_resellers):
    with app.app_context():
        r = db.session.scalar(db.select(Reseller).where(Reseller.code == "R1001"))
        r.credit_used = r.credit_used + 120000
        db.session.commit()
    d = assert_ok(api_with("credit").get(limit_url("R1001")))
    conforms(CreditLimitOut, d)
    assert d == {"resellerId": "R1001", "totalCreditLimit": "500000.00", "availableCreditLimit": "380000.00",
                 "usedCreditLimit": "120000.00", "creditStatus": "ACTIVE", "creditTermDays": 30}


def test_credit_limit_of_a_suspended_reseller(api_with, make_reseller):
    make_reseller("R3003", status="SUSPENDED", credit_limit="10.00")
    d = assert_ok(api_with("credit").get(limit_url("R3003")))
    assert d["creditStatus"] == "SUSPENDED"


def test_credit_limit_of_an_unknown_reseller_is_404(api_with, two_resellers, row_counts):
    caller = api_with("credit")
    before = row_counts()
    assert_error(caller.get(limit_url("R9999")), 404, "NOT_FOUND")
    assert row_counts() == before


def test_credit_records_list(app, api_with, two_resellers):
    today = date.today()
    a = add_credit_record(app, "R1001", "SO-1", "1000.00", due=today + timedelta(days=10))
    b = add_credit_record(app, "R1001", "SO-2", "2000.00", outstanding="0.00", due=today + timedelta(days=20))
    c = add_credit_record(app, "R1001", "SO-3", "3000.00", outstanding="1500.00", due=today - timedelta(days=400))
    d = add_credit_record(app, "R2002", "SO-1", "4000.00", due=today + timedelta(days=5))
    credit = api_with("credit")
    all_ = assert_ok(credit.get(CREDIT_RECORDS))
    conforms(PageOut[CreditRecordOut], all_)
    assert all_["total"] == 4 and (all_["page"], all_["pageSize"]) == (1, 50)
    by_id = {i["creditRecordId"]: i for i in all_["items"]}
    assert (by_id[a]["status"], by_id[b]["status"], by_id[c]["status"]) == ("OPEN", "REPAID", "OVERDUE")
    assert by_id[c] == {"creditRecordId": c, "orderId": "SO-3", "resellerId": "R1001", "amount": "3000.00",
                        "outstandingAmount": "1500.00", "dueDate": (today - timedelta(days=400)).isoformat(),
                        "status": "OVERDUE"}
    mine = assert_ok(credit.get(CREDIT_RECORDS, query_string={"resellerId": "R1001"}))
    assert {i["creditRecordId"] for i in mine["items"]} == {a, b, c}
    so1 = assert_ok(credit.get(CREDIT_RECORDS, query_string={"orderId": "SO-1"}))
    assert {i["creditRecordId"] for i in so1["items"]} == {a, d}
    both = assert_ok(credit.get(CREDIT_RECORDS, query_string={"orderId": "SO-1", "resellerId": "R2002"}))
    assert [i["creditRecordId"] for i in both["items"]] == [d]
    capped = assert_ok(credit.get(CREDIT_RECORDS, query_string={"pageSize": 500, "page": 2}))
    assert (capped["page"], capped["pageSize"], capped["items"], capped["total"]) == (2, 200, [], 4)
    assert_error(credit.get(CREDIT_RECORDS, query_string={"page": "0"}), 422, "VALIDATION_ERROR", ["page"])


def test_repayment_orders_list_filters(app, api, two_resellers):
    r1 = add_credit_record(app, "R1001", "SO-CR-1", "500.00")
    r2 = add_credit_record(app, "R1001", "SO-CR-2", "700.00")
    o1 = assert_ok(api.post(CREATE, json=repay_body(r1, paymentAmount="500.00")), 201)
    o2 = assert_ok(api.post(CREATE, json=repay_body(r2, orderId="SO-CR-2", paymentAmount="700.00")), 201)
    assert_ok(api.post(CREATE, json=order_body(orderId="SO-CR-1")), 201)  # not a repayment
    set_order(app, o2["paymentId"], priority=1)
    everything = assert_ok(api.get(REPAYMENT))
    assert {i["paymentId"] for i in everything["items"]} == {o1["paymentId"], o2["paymentId"]}
    by_order = assert_ok(api.get(REPAYMENT, query_string={"orderId": "SO-CR-2"}))
    assert [i["paymentId"] for i in by_order["items"]] == [o2["paymentId"]]
    by_rec = assert_ok(api.get(REPAYMENT, query_string={"creditRecordId": r1, "pageSize": 999}))
    assert [i["paymentId"] for i in by_rec["items"]] == [o1["paymentId"]] and by_rec["pageSize"] == 200
