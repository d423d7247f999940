"""POST /api/v1/integration/payment/create (docs/API.md §1–3): the full answer, every bad input
refused with the right code and nothing stored, idempotency and the natural key."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.blueprints.api.schemas import PaymentOrderOut
from tests.support.api import (
    CREATE,
    ORDER_FIELDS,
    assert_error,
    assert_ok,
    assert_order_shape,
    conforms,
    order_body,
    order_row,
    order_url,
    set_order,
    trail,
    with_raw,
)

# docs/API.md §3's example request, verbatim.
EXAMPLE = {"requestId": "ord-7781-adv", "orderId": "SO20261122001", "resellerId": "R1001",
           "paymentType": "ADVANCE_PAYMENT", "paymentAmount": "1250000.00",
           "paymentDeadline": "2026-12-01T18:00:00+08:00", "businessDesc": "30% advance",
           "priority": 1, "relatedBusinessId": None, "relatedBusinessType": None,
           "businessExpireDate": None, "tags": {"line": "boilers"}, "creditRecordId": None}


def test_create_answers_the_full_payment_order(app, api, reseller, row_counts):
    before = row_counts()
    d = assert_ok(api.post(CREATE, json=EXAMPLE), 201)
    assert_order_shape(d)
    conforms(PaymentOrderOut, d)
    assert set(d) == set(ORDER_FIELDS) | {"duplicate"}
    assert d["duplicate"] is False
    assert d["paymentId"].startswith("PAY")
    assert (d["orderId"], d["resellerId"], d["paymentType"]) == ("SO20261122001", "R1001", "ADVANCE_PAYMENT")
    assert d["paymentAmount"] == d["remainingAmount"] == d["payableAmount"] == "1250000.00"
    assert d["paidAmount"] == d["refundedAmount"] == d["actualAmount"] == d["reservedAmount"] == "0.00"
    assert (d["paymentStatus"], d["refundStatus"]) == ("UNPAID", "NO_REFUND")
    assert d["paymentDeadline"] == "2026-12-01T18:00:00+08:00"
    assert (d["businessDesc"], d["priority"], d["tags"]) == ("30% advance", 1, {"line": "boilers"})
    assert d["relatedBusinessId"] is d["relatedBusinessType"] is d["businessExpireDate"] is None
    # The example's deadline is a fixed date: overdue once the clock has passed it.
    assert d["overdue"] is (datetime.now(UTC) > datetime.fromisoformat(EXAMPLE["paymentDeadline"]))
    after = row_counts()
    assert {k: after[k] - before[k] for k in after} == {
        "payment_orders": 1, "idempotency_keys": 1, "audit_log": 1, "outbox_events": 1, "status_log": 1}
    audits, events = trail(app, d["paymentId"])
    assert audits == 1 and events >= 1


def test_create_normalises_amounts_times_and_optional_fields(api, reseller):
    body = order_body(paymentAmount=1250000, paymentDeadline="2026-12-01T10:00:00Z", relatedBusinessId="DO-1",
                      relatedBusinessType="DELIVERY_ORDER", businessExpireDate="2026-12-31", priority=0)
    d = assert_ok(api.post(CREATE, json=body), 201)
    assert d["paymentAmount"] == "1250000.00"
    assert d["paymentDeadline"] == "2026-12-01T18:00:00+08:00"
    assert (d["relatedBusinessId"], d["relatedBusinessType"]) == ("DO-1", "DELIVERY_ORDER")
    assert d["businessExpireDate"] == "2026-12-31"
    assert (d["businessDesc"], d["tags"]) == ("", {})
    # A JSON number with two decimals is read from its text.
    raw = with_raw(order_body(orderId="SO-2"), "paymentAmount", "99999999999.99")
    d2 = assert_ok(api.post(CREATE, data=raw), 201)
    assert d2["paymentAmount"] == "99999999999.99"
    raw = with_raw(order_body(orderId="SO-3"), "paymentAmount", "0.1")
    assert assert_ok(api.post(CREATE, data=raw), 201)["paymentAmount"] == "0.10"


@pytest.mark.parametrize(("deadline", "expected"), [
    ("2026-12-01T18:00:00+08:00", "2026-12-01T18:00:00+08:00"),
    ("2026-12-01T10:00:00Z", "2026-12-01T18:00:00+08:00"),
    ("2026-12-01T05:00:00-05:00", "2026-12-01T18:00:00+08:00"),
    ("2026-12-01T18:00:00", "2026-12-01T18:00:00+08:00"),  # no offset: business time
    ("2026-12-01", "2026-12-01T23:59:59+08:00"),  # a bare date: the end of that day
])
def test_deadline_is_answered_in_shanghai_time(api, reseller, deadline, expected):
    d = assert_ok(api.post(CREATE, json=order_body(paymentDeadline=deadline)), 201)
    assert d["paymentDeadline"] == expected


def test_limits_count_characters_not_bytes(api, reseller):
    desc = "预付款" * 166 + "款款"  # 500 characters, 1500 bytes
    d = assert_ok(api.post(CREATE, json=order_body(businessDesc=desc)), 201)
    assert d["businessDesc"] == desc and len(d["businessDesc"]) == 500


def test_past_deadline_is_overdue(api, reseller):
    d = assert_ok(api.post(CREATE, json=order_body(paymentDeadline="2020-01-01T00:00:00+08:00")), 201)
    assert d["overdue"] is True


# (field, raw JSON text of its value) -> 422 VALIDATION_ERROR naming the field.
BAD_FIELDS = [
    ("paymentAmount", '"-1.00"'),
    ("paymentAmount", "-1"),
    ("paymentAmount", '"0"'),
    ("paymentAmount", "0"),
    ("paymentAmount", '"0.00"'),
    ("paymentAmount", '"1.234"'),
    ("paymentAmount", "1.234"),
    ("paymentAmount", '"100000000000.00"'),
    ("paymentAmount", "100000000000.00"),
    ("paymentAmount", "1e400"),
    ("paymentAmount", "0.30000000000000004"),
    ("paymentAmount", "true"),
    ("paymentAmount", '"abc"'),
    ("paymentAmount", '""'),
    ("paymentAmount", '"1,000.00"'),
    ("paymentAmount", '"NaN"'),
    ("paymentAmount", '"Infinity"'),
    ("paymentAmount", "[100]"),
    ("paymentAmount", '{"value": 100}'),
    ("paymentDeadline", '"2026-13-01"'),
    ("paymentDeadline", '"tomorrow"'),
    ("paymentDeadline", "20261201"),
    ("paymentDeadline", '"2026-12-01T25:00:00+08:00"'),
    ("businessExpireDate", '"2026-02-30"'),
    ("businessExpireDate", '"2026-12-01T18:00:00+08:00"'),
    ("businessExpireDate", "20261231"),
    ("paymentType", '"CASH"'),
    ("paymentType", '"advance_payment"'),
    ("paymentType", "1"),
    ("businessDesc", json.dumps("x" * 501)),
    ("businessDesc", json.dumps("预" * 501)),
    ("businessDesc", "42"),
    ("tags", '"line=boilers"'),
    ("tags", '["boilers"]'),
    ("tags", json.dumps({f"k{i}": "v" for i in range(21)})),
    ("tags", json.dumps({"k": "v" * 201})),
    ("tags", '{"k": {"nested": 1}}'),
    ("tags", '{"k": 1.5}'),
    ("priority", '"1"'),
    ("priority", "1.5"),
    ("priority", "-1"),
    ("priority", "100"),
    ("priority", "true"),
    ("orderId", '""'),
    ("orderId", '"SO 1"'),
    ("orderId", json.dumps("S" * 65)),
    ("orderId", "12345"),
    ("resellerId", "1001"),
    ("requestId", '""'),
    ("requestId", json.dumps("r" * 129)),
    ("creditRecordId", '"CR1"'),  # only for CREDIT_REPAYMENT
]


@pytest.mark.parametrize(("field", "raw"), BAD_FIELDS)
def test_bad_field_is_422_and_nothing_is_stored(api, reseller, row_counts, field, raw):
    before = row_counts()
    r = api.post(CREATE, data=with_raw(order_body(requestId="bad-1"), field, raw))
    assert_error(r, 422, "VALIDATION_ERROR", [field])
    assert row_counts() == before


def test_unknown_and_missing_fields_are_each_named(api, reseller, row_counts):
    before = row_counts()
    body = {"orderId": "SO1", "paymentAmout": "10.00", "reseller": "R1001", "paymentType": "ADVANCE_PAYMENT"}
    b = assert_error(api.post(CREATE, json=body), 422, "VALIDATION_ERROR",
                     ["paymentAmout", "reseller", "paymentAmount", "resellerId"])
    messages = {e["field"]: e["message"] for e in b["errors"]}
    assert messages["paymentAmout"] == "unknown field" and messages["resellerId"] == "is required"
    b = assert_error(api.post(CREATE, json={}), 422, "VALIDATION_ERROR",
                     ["orderId", "resellerId", "paymentType", "paymentAmount"])
    assert len(b["errors"]) == 4
    assert row_counts() == before


@pytest.mark.parametrize("status", ["unknown", "SUSPENDED"])
def test_unknown_or_suspended_reseller_is_422_on_reseller_id(api, make_reseller, row_counts, status):
    if status == "SUSPENDED":
        make_reseller("R1001", status="SUSPENDED")
    before = row_counts()
    assert_error(api.post(CREATE, json=order_body(requestId="r-1")), 422, "VALIDATION_ERROR", ["resellerId"])
    assert row_counts() == before


def test_scope_is_needed(api_with, reseller, row_counts):
    # A credit-only key may create credit repayments only.
    callers = [api_with(s) for s in ("finance", "refunds,disburse,resellers,finance", "credit")]
    before = row_counts()
    for caller in callers:
        assert_error(caller.post(CREATE, json=order_body()), 403, "FORBIDDEN")
    assert row_counts() == before


# --- idempotency (docs/API.md §2) -------------------------------------------------------------------

def test_ten_replays_make_one_order_and_identical_answers(api, reseller, row_counts):
    before = row_counts()
    body = order_body(requestId="ord-7781-adv", tags={"line": "boilers"})
    answers = [api.post(CREATE, json=body) for _ in range(10)]
    assert [r.status_code for r in answers] == [201] * 10
    datas = [r.get_json()["data"] for r in answers]
    assert [d["duplicate"] for d in datas] == [False] + [True] * 9
    for d in datas:
        conforms(PaymentOrderOut, d)
    first = {k: v for k, v in datas[0].items() if k != "duplicate"}
    assert all({k: v for k, v in d.items() if k != "duplicate"} == first for d in datas[1:])
    assert len({r.get_data() for r in answers[1:]}) == 1
    after = row_counts()
    assert {k: after[k] - before[k] for k in after} == {
        "payment_orders": 1, "idempotency_keys": 1, "audit_log": 1, "outbox_events": 1, "status_log": 1}


def test_equivalent_bodies_are_replays(api, reseller, row_counts):
    """The compared body is the validated request: number or string amounts, key order, nulls and
    equivalent time notations do not make a replay a different request."""
    first = assert_ok(api.post(CREATE, json=order_body(requestId="eq-1", paymentDeadline="2026-12-01T18:00:00+08:00",
                                                          tags={"a": "1", "b": 2})), 201)
    before = row_counts()
    raw = with_raw({"tags": {"b": 2, "a": "1"}, "paymentDeadline": "2026-12-01T10:00:00Z", "businessDesc": None,
                    "requestId": "eq-1", "paymentAmount": 1250000, "paymentType": "ADVANCE_PAYMENT",
                    "resellerId": "R1001"}, "orderId", '"SO20261122001"')
    again = assert_ok(api.post(CREATE, data=raw), 201)
    assert again["duplicate"] is True and again["paymentId"] == first["paymentId"]
    assert row_counts() == before


def test_replay_shows_the_order_as_it_is_now(app, api, reseller):
    body = order_body(requestId="r-now")
    d = assert_ok(api.post(CREATE, json=body), 201)
    assert_ok(api.patch(order_url(d["paymentId"]), json={"action": "FREEZE", "reason": "dispute"}))
    again = assert_ok(api.post(CREATE, json=body), 201)
    assert again["paymentStatus"] == "FROZEN" and again["duplicate"] is True


@pytest.mark.parametrize("change", [
    {"paymentAmount": "1250000.01"}, {"businessDesc": "other"}, {"tags": {"line": "pumps"}},
    {"orderId": "SO-OTHER"}, {"priority": 2},
])
def test_same_key_different_body_is_422_idempotency_key_reused(api, reseller, row_counts, change):
    assert_ok(api.post(CREATE, json=order_body(requestId="k-1", businessDesc="d", priority=1)), 201)
    before = row_counts()
    body = order_body(requestId="k-1", businessDesc="d", priority=1) | change
    assert_error(api.post(CREATE, json=body), 422, "IDEMPOTENCY_KEY_REUSED")
    assert row_counts() == before


def test_header_wins_over_request_id(api, reseller, row_counts):
    h = {"Idempotency-Key": "hdr-1"}
    first = assert_ok(api.post(CREATE, json=order_body(requestId="body-a"), headers=h), 201)
    before = row_counts()
    # requestId is then not part of the compared body: a different one is still a replay.
    second = assert_ok(api.post(CREATE, json=order_body(requestId="body-b"), headers=h), 201)
    third = assert_ok(api.post(CREATE, json=order_body(), headers=h), 201)
    assert second["duplicate"] is third["duplicate"] is True
    assert second["paymentId"] == third["paymentId"] == first["paymentId"]
    assert_error(api.post(CREATE, json=order_body(requestId="body-a", paymentAmount="1.00"), headers=h),
                 422, "IDEMPOTENCY_KEY_REUSED")
    assert row_counts() == before


@pytest.mark.parametrize("value", ["", "   ", "k" * 129])
def test_bad_idempotency_key_header_is_422(api, reseller, row_counts, value):
    before = row_counts()
    assert_error(api.post(CREATE, json=order_body(), headers={"Idempotency-Key": value}), 422,
                 "VALIDATION_ERROR", ["Idempotency-Key"])
    assert row_counts() == before


def test_same_key_from_two_clients_makes_two_orders(api_with, reseller, row_counts):
    a, b = api_with("payments"), api_with("payments")
    before = row_counts()
    da = assert_ok(a.post(CREATE, json=order_body(requestId="shared", orderId="SO-A")), 201)
    db_ = assert_ok(b.post(CREATE, json=order_body(requestId="shared", orderId="SO-B")), 201)
    assert da["duplicate"] is db_["duplicate"] is False and da["paymentId"] != db_["paymentId"]
    after = row_counts()
    assert (after["payment_orders"] - before["payment_orders"], after["idempotency_keys"]
            - before["idempotency_keys"]) == (2, 2)


# --- the natural key (orderId, paymentType, relatedBusinessId) ------------------------------------

def test_natural_key_same_amount_is_200_duplicate(api, reseller, row_counts):
    first = assert_ok(api.post(CREATE, json=order_body()), 201)
    before = row_counts()
    again = assert_ok(api.post(CREATE, json=order_body(businessDesc="resent")), 200)
    assert again["duplicate"] is True and again["paymentId"] == first["paymentId"]
    conforms(PaymentOrderOut, again)
    assert row_counts() == before


def test_natural_key_different_amount_is_409_duplicate_payment_order(api, reseller, row_counts):
    assert_ok(api.post(CREATE, json=order_body()), 201)
    before = row_counts()
    assert_error(api.post(CREATE, json=order_body(paymentAmount="1.00")), 409, "DUPLICATE_PAYMENT_ORDER")
    assert_error(api.post(CREATE, json=order_body(paymentAmount="1.00", requestId="new-key")), 409,
                 "DUPLICATE_PAYMENT_ORDER")
    assert row_counts() == before


def test_natural_key_across_clients(api_with, reseller):
    first = assert_ok(api_with("payments").post(CREATE, json=order_body()), 201)
    other = assert_ok(api_with("payments").post(CREATE, json=order_body()), 200)
    assert other["paymentId"] == first["paymentId"] and other["duplicate"] is True


def test_natural_key_parts_tell_orders_apart(api, reseller):
    ids = {assert_ok(api.post(CREATE, json=body), 201)["paymentId"] for body in (
        order_body(),
        order_body(paymentType="FINAL_PAYMENT"),
        order_body(relatedBusinessId="DO-1"),
        order_body(relatedBusinessId="DO-2"),
        order_body(orderId="SO-OTHER"),
    )}
    assert len(ids) == 5


def test_natural_key_is_free_again_after_stop(app, api, reseller):
    first = assert_ok(api.post(CREATE, json=order_body()), 201)
    stopped = assert_ok(api.patch(order_url(first["paymentId"]), json={"action": "STOP", "reason": "cancelled"}))
    assert stopped["paymentStatus"] == "STOPPED"
    second = assert_ok(api.post(CREATE, json=order_body(paymentAmount="1000.00")), 201)
    assert second["paymentId"] != first["paymentId"] and second["duplicate"] is False
    # A frozen order still holds its natural key.
    assert_ok(api.patch(order_url(second["paymentId"]), json={"action": "FREEZE"}))
    assert_error(api.post(CREATE, json=order_body(paymentAmount="5.00")), 409, "DUPLICATE_PAYMENT_ORDER")
    assert order_row(app, first["paymentId"])["payment_status"] == "STOPPED"


def test_natural_key_of_a_paid_order_still_answers_duplicate(app, api, reseller):
    first = assert_ok(api.post(CREATE, json=order_body(paymentAmount="10.00")), 201)
    set_order(app, first["paymentId"], paid_amount="10.00", payment_status="PAID")
    again = assert_ok(api.post(CREATE, json=order_body(paymentAmount="10.00")), 200)
    assert again["paymentStatus"] == "PAID" and again["paidAmount"] == "10.00"
