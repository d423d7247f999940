"""Hostile request bodies, query strings and paths on every route that reads them (docs/API.md §1):
a body that is not a JSON object is 400 BAD_REQUEST; text the database cannot hold (NUL characters)
is 422 naming the field (or 404 in a path), never a 500; nothing is stored either way."""

from __future__ import annotations

import json

import pytest

from tests.support.api import (
    CREATE,
    CREDIT_RECORDS,
    LIST,
    REPAYMENT,
    add_credit_record,
    assert_error,
    assert_ok,
    limit_url,
    order_body,
    order_row,
    order_url,
    reseller_url,
    send,
    status_url,
    txns_url,
    with_raw,
)

BIG = json.dumps(order_body(businessDesc="x" * (64 * 1024)))
BAD_BODIES = {
    "not_json": ("{not json", "application/json"),
    "truncated": ('{"orderId": "SO1"', "application/json"),
    "empty": ("", "application/json"),
    "wrong_content_type": (json.dumps(order_body()), "text/plain"),
    "form": ("orderId=SO1&paymentAmount=1", "application/x-www-form-urlencoded"),
    "no_content_type": (json.dumps(order_body()), None),
    "too_large": (BIG, "application/json"),
    "array": (json.dumps([order_body()]), "application/json"),
    "string": ('"hello"', "application/json"),
    "number": ("12", "application/json"),
    "null": ("null", "application/json"),
    "nan": (with_raw(order_body(), "paymentAmount", "NaN"), "application/json"),
    "infinity": (with_raw(order_body(), "paymentAmount", "Infinity"), "application/json"),
    "minus_infinity": (with_raw(order_body(), "paymentAmount", "-Infinity"), "application/json"),
    "duplicate_keys": ('{"orderId": "SO1", "orderId": "SO2", "resellerId": "R1001", "paymentType": '
                       '"ADVANCE_PAYMENT", "paymentAmount": "1.00"}', "application/json"),
    "nested_duplicate_keys": (with_raw(order_body(), "tags", '{"a": "1", "a": "2"}'), "application/json"),
    "not_utf8": (b'{"orderId": "SO\xff1"}', "application/json"),
    "raw_control_character": ('{"orderId": "SO\x001"}', "application/json"),
    "trailing_garbage": (json.dumps(order_body()) + " x", "application/json"),
}


@pytest.fixture
def targets(api, order):
    """(method, path) of every route that reads a JSON body."""
    return {"create": ("POST", CREATE), "repayment": ("POST", REPAYMENT),
            "patch": ("PATCH", order_url(order["paymentId"])), "upsert": ("PUT", reseller_url("R1001"))}


@pytest.mark.parametrize("target", ["create", "repayment", "patch", "upsert"])
@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_body_that_is_not_a_json_object_is_400(app, api, order, targets, row_counts, target, case):
    data, content_type = BAD_BODIES[case]
    method, path = targets[target]
    before, row_before = row_counts(), order_row(app, order["paymentId"])
    assert_error(send(api, method, path, data, content_type), 400, "BAD_REQUEST")
    assert row_counts() == before
    assert order_row(app, order["paymentId"]) == row_before


def test_json_with_charset_is_accepted(api, reseller):
    r = send(api, "POST", CREATE, json.dumps(order_body()).encode(), "application/json; charset=utf-8")
    assert_ok(r, 201)


# --- NUL characters: valid JSON, but no database text column can hold them -------------------------

NUL = "a\x00b"


@pytest.fixture
def record(app, order) -> str:
    return add_credit_record(app, "R1001", "SO-CR-1", "1000.00")


def _nul_cases(record: str) -> list[tuple[str, str, dict, str]]:
    repay = {"creditRecordId": record, "orderId": "SO-CR-1", "resellerId": "R1001", "repaymentAmount": "10.00"}
    return [
        ("create", "POST", order_body(orderId="N1", businessDesc=NUL), "businessDesc"),
        ("create", "POST", order_body(orderId="N2", requestId=NUL), "requestId"),
        ("create", "POST", order_body(orderId="N3", relatedBusinessType=NUL), "relatedBusinessType"),
        ("create", "POST", order_body(orderId="N4", tags={"line": NUL}), "tags.line"),
        ("create", "POST", order_body(orderId="N5", tags={NUL: "x"}), "tags.a\\u0000b"),
        ("create", "POST", order_body(orderId=NUL), "orderId"),
        ("repayment", "POST", repay | {"repaymentReason": NUL}, "repaymentReason"),
        ("repayment", "POST", repay | {"businessRemark": NUL}, "businessRemark"),
        ("repayment", "POST", repay | {"requestId": NUL}, "requestId"),
        ("patch", "PATCH", {"action": "FREEZE", "reason": NUL}, "reason"),
        ("patch", "PATCH", {"businessDesc": NUL}, "businessDesc"),
        ("upsert", "PUT", {"name": NUL}, "name"),
        ("upsert", "PUT", {"refundBankAccount": {"accountNo": "6222021234563445", "accountName": NUL,
                                                 "bankCode": "ICBC"}}, "refundBankAccount.accountName"),
    ]


@pytest.mark.parametrize("index", range(13))
def test_nul_in_a_body_string_is_422_naming_the_field(app, api, order, targets, record, row_counts, index):
    target, method, body, field = _nul_cases(record)[index]
    path = targets[target][1]
    before, row_before = row_counts(), order_row(app, order["paymentId"])
    assert_error(send(api, method, path, json.dumps(body)), 422, "VALIDATION_ERROR", [field])
    assert row_counts() == before and order_row(app, order["paymentId"]) == row_before


@pytest.mark.parametrize(("path", "query", "field"), [
    (LIST, {"resellerId": NUL}, "resellerId"),
    (LIST, {"orderId": NUL}, "orderId"),
    (LIST, {"channel": NUL}, "channel"),
    (LIST, {"channelTransactionId": NUL}, "channelTransactionId"),
    (CREDIT_RECORDS, {"orderId": NUL}, "orderId"),
    (REPAYMENT, {"creditRecordId": NUL}, "creditRecordId"),
])
def test_nul_in_a_query_is_422(api, order, row_counts, path, query, field):
    before = row_counts()
    assert_error(api.get(path, query_string=query), 422, "VALIDATION_ERROR", [field])
    assert row_counts() == before


@pytest.mark.parametrize(("method", "url"), [
    ("GET", status_url(NUL)), ("GET", txns_url(NUL)), ("PATCH", order_url(NUL)),
    ("GET", reseller_url(NUL)), ("GET", limit_url(NUL)),
])
def test_nul_in_a_path_is_404(api, order, row_counts, method, url):
    before = row_counts()
    r = api.client.open(url, method=method, headers=api._headers(), data='{"priority": 1}',
                        content_type="application/json")
    assert_error(r, 404, "NOT_FOUND")
    assert row_counts() == before


def test_nul_in_a_path_still_needs_a_key(client, order):
    assert_error(client.get(status_url(NUL)), 401, "UNAUTHORIZED")


def test_escaped_backslash_is_not_a_nul(api, reseller):
    d = assert_ok(api.post(CREATE, json=order_body(businessDesc="C:\\u0000\\temp")), 201)
    assert d["businessDesc"] == "C:\\u0000\\temp"
