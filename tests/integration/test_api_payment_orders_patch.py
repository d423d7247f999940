"""PATCH /api/v1/integration/payment/{paymentId} (docs/API.md §3, docs/DOMAIN.md §3): field updates,
STOP / FREEZE / UNFREEZE and every state refusal (409 STATE_CONFLICT, nothing stored)."""

from __future__ import annotations

import pytest

from app.blueprints.api.schemas import PaymentOrderOut
from tests.support.api import (
    CREATE,
    add_transaction,
    assert_error,
    assert_ok,
    assert_order_shape,
    conforms,
    order_body,
    order_row,
    order_url,
    set_order,
    status_url,
    trail,
    with_raw,
)


def _patch(api, order, body):
    return api.patch(order_url(order["paymentId"]), json=body)


def test_field_updates_return_the_order_and_leave_a_trail(app, api, order, row_counts):
    pid = order["paymentId"]
    before, trail_before = row_counts(), trail(app, pid)
    body = {"paymentAmount": "1300000.5", "paymentDeadline": "2026-12-05T18:00:00+08:00",
            "businessDesc": "30% advance, revised", "priority": 5, "tags": {"line": "pumps", "rev": 2}}
    d = assert_ok(_patch(api, order, body))
    assert_order_shape(d)
    conforms(PaymentOrderOut, d)
    assert (d["paymentAmount"], d["remainingAmount"], d["payableAmount"]) == ("1300000.50",) * 3
    assert d["paymentDeadline"] == "2026-12-05T18:00:00+08:00"
    assert (d["businessDesc"], d["priority"], d["tags"]) == ("30% advance, revised", 5, {"line": "pumps", "rev": 2})
    assert d["paymentStatus"] == "UNPAID" and d["createdAt"] == order["createdAt"]
    after, trail_after = row_counts(), trail(app, pid)
    assert after["audit_log"] - before["audit_log"] == 1
    assert trail_after[0] - trail_before[0] == 1 and trail_after[1] - trail_before[1] >= 1
    assert after["payment_orders"] == before["payment_orders"]
    # The status endpoint shows the same.
    s = assert_ok(api.get(status_url(pid)))
    assert {k: s[k] for k in d} == d


def test_tags_replace_the_whole_object(api, reseller):
    order = assert_ok(api.post(CREATE, json=order_body(tags={"a": "1", "b": "2"})), 201)
    assert assert_ok(_patch(api, order, {"tags": {"c": "3"}}))["tags"] == {"c": "3"}
    assert assert_ok(_patch(api, order, {"tags": {}}))["tags"] == {}


def test_amount_change_rederives_the_status(app, api, order, row_counts):
    add_transaction(app, order["paymentId"], "250000.00")
    before = row_counts()
    d = assert_ok(_patch(api, order, {"paymentAmount": "250000.00", "reason": "scope reduced"}))
    assert (d["paymentStatus"], d["paidAmount"], d["remainingAmount"]) == ("PAID", "250000.00", "0.00")
    after = row_counts()
    assert after["status_log"] - before["status_log"] == 1
    assert after["outbox_events"] - before["outbox_events"] == 2  # updated + status_changed


@pytest.mark.parametrize(("paid", "reserved", "amount"), [
    ("250000.00", "0.00", "249999.99"),
    ("0.00", "100000.00", "99999.99"),
    ("250000.00", "100000.00", "349999.99"),
])
def test_amount_below_paid_plus_reserved_is_409(app, api, order, row_counts, paid, reserved, amount):
    if paid != "0.00":
        add_transaction(app, order["paymentId"], paid)
    set_order(app, order["paymentId"], reserved_amount=reserved)
    before, row_before = row_counts(), order_row(app, order["paymentId"])
    assert_error(_patch(api, order, {"paymentAmount": amount}), 409, "STATE_CONFLICT")
    assert row_counts() == before and order_row(app, order["paymentId"]) == row_before
    # Exactly paid + reserved is allowed.
    total = f"{float(paid) + float(reserved):.2f}"
    assert assert_ok(_patch(api, order, {"paymentAmount": total}))["payableAmount"] == "0.00"


@pytest.mark.parametrize("action", ["STOP", "FREEZE"])
def test_stop_or_freeze_with_money_in_flight_is_409(app, api, order, row_counts, action):
    set_order(app, order["paymentId"], reserved_amount="1000.00", payment_status="PAYING")
    before = row_counts()
    assert_error(_patch(api, order, {"action": action, "reason": "x"}), 409, "STATE_CONFLICT")
    assert row_counts() == before
    assert order_row(app, order["paymentId"])["payment_status"] == "PAYING"


@pytest.mark.parametrize("action", ["STOP", "FREEZE"])
def test_stop_or_freeze_with_a_refund_in_flight_is_409(app, api, order, row_counts, action):
    add_transaction(app, order["paymentId"], "1000.00")
    set_order(app, order["paymentId"], refunding_amount="500.00", refund_status="REFUNDING")
    before = row_counts()
    assert_error(_patch(api, order, {"action": action}), 409, "STATE_CONFLICT")
    assert row_counts() == before


def test_freeze_then_unfreeze_returns_to_the_derived_status(app, api, order, row_counts):
    add_transaction(app, order["paymentId"], "300000.00")
    before = row_counts()
    frozen = assert_ok(_patch(api, order, {"action": "FREEZE", "reason": "dispute"}))
    assert frozen["paymentStatus"] == "FROZEN"
    after = row_counts()
    assert (after["audit_log"] - before["audit_log"], after["status_log"] - before["status_log"]) == (1, 1)
    assert after["outbox_events"] - before["outbox_events"] >= 1
    # A frozen order can still get field updates; its status stays FROZEN.
    assert assert_ok(_patch(api, order, {"priority": 3}))["paymentStatus"] == "FROZEN"
    back = assert_ok(_patch(api, order, {"action": "UNFREEZE", "reason": "settled"}))
    assert back["paymentStatus"] == "PARTIAL_PAID" and back["paidAmount"] == "300000.00"


def test_unfreeze_of_an_unpaid_order_is_unpaid(api, order):
    assert_ok(_patch(api, order, {"action": "FREEZE"}))
    assert assert_ok(_patch(api, order, {"action": "UNFREEZE"}))["paymentStatus"] == "UNPAID"


def test_freeze_of_a_frozen_order_is_409(api, order, row_counts):
    assert_ok(_patch(api, order, {"action": "FREEZE"}))
    before = row_counts()
    assert_error(_patch(api, order, {"action": "FREEZE"}), 409, "STATE_CONFLICT")
    assert row_counts() == before


@pytest.mark.parametrize("status", ["UNPAID", "PARTIAL_PAID", "PAID"])
def test_unfreeze_of_an_order_that_is_not_frozen_is_409(app, api, order, row_counts, status):
    if status != "UNPAID":
        add_transaction(app, order["paymentId"], "1250000.00" if status == "PAID" else "1.00")
    before = row_counts()
    assert_error(_patch(api, order, {"action": "UNFREEZE"}), 409, "STATE_CONFLICT")
    assert row_counts() == before


def test_stop_of_a_frozen_order_is_allowed(api, order):
    assert_ok(_patch(api, order, {"action": "FREEZE"}))
    assert assert_ok(_patch(api, order, {"action": "STOP", "reason": "cancelled"}))["paymentStatus"] == "STOPPED"


@pytest.mark.parametrize("body", [
    {"action": "STOP"}, {"action": "FREEZE"}, {"action": "UNFREEZE"}, {"paymentAmount": "1.00"},
    {"businessDesc": "x"}, {"priority": 1}, {"tags": {}}, {"paymentDeadline": "2027-01-01"},
])
def test_any_patch_of_a_stopped_order_is_409(app, api, order, row_counts, body):
    assert_ok(_patch(api, order, {"action": "STOP"}))
    before, row_before = row_counts(), order_row(app, order["paymentId"])
    assert_error(_patch(api, order, body), 409, "STATE_CONFLICT")
    assert row_counts() == before and order_row(app, order["paymentId"]) == row_before


@pytest.mark.parametrize(("body", "field"), [
    ({}, "action"),
    ({"reason": "only a reason"}, "action"),
    ({"action": "STOP", "priority": 1}, "action"),
    ({"action": "FREEZE", "tags": {}}, "action"),
    ({"action": "PAUSE"}, "action"),
    ({"action": "stop"}, "action"),
    ({"paymentAmount": "0.00"}, "paymentAmount"),
    ({"paymentAmount": "-5"}, "paymentAmount"),
    ({"paymentAmount": "1.001"}, "paymentAmount"),
    ({"paymentAmount": "100000000000.00"}, "paymentAmount"),
    ({"paymentAmount": True}, "paymentAmount"),
    ({"paymentDeadline": "tomorrow"}, "paymentDeadline"),
    ({"businessDesc": "x" * 501}, "businessDesc"),
    ({"tags": ["a"]}, "tags"),
    ({"priority": "high"}, "priority"),
    ({"reason": "r" * 501, "action": "STOP"}, "reason"),
    ({"paymentAmout": "10.00"}, "paymentAmout"),
    ({"paymentType": "FINAL_PAYMENT"}, "paymentType"),
    ({"orderId": "SO-2"}, "orderId"),
])
def test_bad_patch_is_422_and_nothing_changes(app, api, order, row_counts, body, field):
    before, row_before = row_counts(), order_row(app, order["paymentId"])
    assert_error(_patch(api, order, body), 422, "VALIDATION_ERROR", [field])
    assert row_counts() == before and order_row(app, order["paymentId"]) == row_before


def test_float_amount_in_patch_is_422(app, api, order, row_counts):
    before = row_counts()
    r = api.client.patch(order_url(order["paymentId"]), data=with_raw({}, "paymentAmount", "0.30000000000000004"),
                         headers=api._headers(), content_type="application/json")
    assert_error(r, 422, "VALIDATION_ERROR", ["paymentAmount"])
    assert row_counts() == before


def test_unknown_payment_id_is_404(api, reseller, row_counts):
    before = row_counts()
    assert_error(api.patch(order_url("PAY00000000000000000000"), json={"priority": 1}), 404, "NOT_FOUND")
    assert_error(api.patch(order_url("PAY00000000000000000000"), json={"action": "STOP"}), 404, "NOT_FOUND")
    assert row_counts() == before


@pytest.mark.parametrize("scopes", ["finance", "credit", "refunds", "resellers,disburse"])
def test_patch_needs_the_payments_scope(api_with, order, row_counts, scopes):
    caller = api_with(scopes)
    before = row_counts()
    assert_error(caller.patch(order_url(order["paymentId"]), json={"action": "STOP"}), 403, "FORBIDDEN")
    assert row_counts() == before
