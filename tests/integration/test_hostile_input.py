"""Hostile input found by the hardening pass (issue 11), each answered with a clear 4xx and nothing
stored — never a 500: bodies nested thousands of levels deep, a lone surrogate in a tag, page
numbers beyond any integer column, path ids beyond the id columns, NUL bytes in path segments."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import PaymentOrder
from tests.support.factories import add_channel
from tests.support.web import create_portal, csrf_token, sign_in

CREATE = "/api/v1/integration/payment/create"


def _order(**extra) -> dict:
    return {"orderId": "SO-HOSTILE-1", "resellerId": "R1001", "paymentType": "ADVANCE_PAYMENT",
            "paymentAmount": "100.00", **extra}


def _orders(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(PaymentOrder))


@pytest.mark.parametrize("depth", [33, 500, 5000, 30000])
@pytest.mark.parametrize("shape", ["objects", "arrays"])
def test_deeply_nested_bodies_are_400_with_a_clear_message(app, api, make_reseller, depth, shape):
    make_reseller("R1001")
    inner = '{"a":' * depth + "1" + "}" * depth if shape == "objects" else "[" * depth + "1" + "]" * depth
    body = json.dumps(_order())[:-1] + f', "tags": {{"x": {inner}}}}}'
    response = api.post(CREATE, data=body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    expected = "too large" if len(body) > app.config["API_MAX_BODY_BYTES"] else "nested too deeply"
    assert response.json["code"] == "BAD_REQUEST" and expected in response.json["message"]
    assert _orders(app) == 0


def test_nesting_within_the_limit_is_read_and_validated(app, api, make_reseller):
    make_reseller("R1001")
    inner = '{"a":' * 30 + "1" + "}" * 30  # 32 levels with the body and tags: parsed, then refused by the schema
    body = json.dumps(_order())[:-1] + f', "tags": {inner}}}'
    response = api.post(CREATE, data=body)
    assert response.status_code == 422 and response.json["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("text", ["\\ud800", "x\\udfff", "\\udc00\\ud800"])
def test_a_lone_surrogate_in_a_tag_is_422_naming_it(app, api, make_reseller, text):
    make_reseller("R1001")
    body = json.dumps(_order())[:-1] + f', "tags": {{"line": "{text}"}}}}'
    response = api.post(CREATE, data=body)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.json["errors"] == [{"field": "tags.line", "message": "must be valid Unicode text"}]
    assert _orders(app) == 0
    key = json.dumps(_order())[:-1] + f', "tags": {{"{text}": "x"}}}}'
    assert api.post(CREATE, data=key).status_code == 422


def test_a_surrogate_pair_is_fine(app, api, make_reseller):
    make_reseller("R1001")
    body = json.dumps(_order())[:-1] + ', "tags": {"emoji": "\\ud83d\\ude00"}}'
    response = api.post(CREATE, data=body)
    assert response.status_code == 201 and response.json["data"]["tags"] == {"emoji": "😀"}


@pytest.mark.parametrize("path", ["/api/v1/integration/payment", "/api/v1/integration/credit/records",
                                  "/api/v1/integration/credit/repayment?orderId=SO1"])
@pytest.mark.parametrize("value", ["100000000000000000000", "9223372036854775808", "2147483648"])
def test_page_numbers_beyond_any_list_are_422_naming_page(api, path, value):
    sep = "&" if "?" in path else "?"
    response = api.get(f"{path}{sep}page={value}")
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert [e["field"] for e in response.json["errors"]] == ["page"]
    response = api.get(f"{path}{sep}pageSize={value}")
    assert response.status_code in (200, 422)  # a large page size is capped at 200 (docs/API.md §1)


def test_the_last_allowed_page_is_an_empty_list(api):
    response = api.get("/api/v1/integration/payment?page=100000")
    assert response.status_code == 200 and response.json["data"]["items"] == []


@pytest.fixture
def portal(app):
    return create_portal(app)


def _signed_in(app, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


@pytest.mark.parametrize("path", ["/vouchers/2147483648/file", "/vouchers/2147483648/pdf",
                                  "/vouchers/99999999999999999999999/file", "/payments/MP1/vouchers/2147483648"])
def test_path_ids_beyond_the_id_columns_are_404(app, portal, path):
    for email in ("finance@example.com", "operator@r1001.example"):
        assert _signed_in(app, email).get(path).status_code == 404, (email, path)


def test_finance_actions_on_huge_ids_are_404(app, portal):
    client = _signed_in(app, "finance@example.com")
    token = csrf_token(client, "/finance/vouchers")
    for action in ("confirm", "reject"):
        answer = client.post(f"/finance/vouchers/2147483648/{action}", data={"csrf_token": token,
                                                                            "receivedAmount": "1.00"})
        assert answer.status_code == 404


@pytest.mark.parametrize("path", ["/orders/PAY%00", "/payments/%00/vouchers/1", "/payments/MP%00",
                                  "/orders/%00%00?x=1"])
def test_nul_bytes_in_path_segments_are_404(app, portal, path):
    assert _signed_in(app, "operator@r1001.example").get(path).status_code == 404


def test_huge_page_numbers_on_screens_show_a_page(app, portal):
    client = _signed_in(app, "operator@r1001.example")
    for path in ("/payments?page=100000000000000000000", "/orders?page=100000000000000000000",
                 "/wallet?page=99999999999999999999999", "/credit?page=1e99&rpage=100000000000000000000"):
        assert client.get(path).status_code in (200, 422), path
    finance = _signed_in(app, "finance@example.com")
    for path in ("/finance/vouchers?page=100000000000000000000", "/finance/refunds?page=100000000000000000000",
                 "/finance/disbursements?page=100000000000000000000"):
        assert finance.get(path).status_code == 200, path


@pytest.mark.parametrize("method, path, allowed", [
    ("TRACE", "/api/v1/integration/payment", {"GET"}),
    ("DELETE", "/api/v1/integration/payment/create", {"POST"}),
    ("GET", "/api/v1/disburse/callback", {"POST"}),
    ("PUT", "/api/v1/payment/callback/online/ONLINE_X", {"POST"}),
    ("DELETE", "/wallet", {"GET"}),
    ("PUT", "/login", {"GET", "POST"}),
])
def test_405_names_the_allowed_methods(client, method, path, allowed):
    """RFC 9110 §15.5.6: a 405 carries Allow (found by schemathesis' unsupported-method check)."""
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers.get("Allow", "").split(",")}, response.headers


# --- found by the schema fuzz (tests/integration/test_api_schema_fuzz.py) and its probes ----------

@pytest.mark.parametrize("method", ["PATCH", "OPTIONS"])
@pytest.mark.parametrize("path, allowed", [
    ("/api/v1/integration/payment/create", {"POST", "OPTIONS"}),
    ("/api/v1/integration/payment/refund", {"POST", "GET", "HEAD", "OPTIONS"}),  # GET: the refund list
])
def test_the_paths_of_create_and_refund_are_not_payment_ids(api, method, path, allowed):
    """OPTIONS on them listed PATCH (the update route took "create" for a payment id)."""
    response = api.client.open(path, method=method, headers=api._headers())
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed
    assert response.status_code == (405 if method == "PATCH" else 200)


@pytest.mark.parametrize("field, value", [
    ("paymentDeadline", "0001-01-01T00:00:00+08:00"), ("paymentDeadline", "9999-12-31T23:59:59-08:00"),
    ("paymentDeadline", "1999-12-31T23:59:59Z"), ("paymentDeadline", "0001-01-01"),
    ("businessExpireDate", "0001-01-01"), ("businessExpireDate", "9999-12-31"),
])
def test_dates_outside_the_calendar_the_api_takes_are_422_naming_the_field(app, api, make_reseller, field, value):
    make_reseller("R1001")
    response = api.post(CREATE, json=_order(**{field: value}))
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.json["errors"] == [{"field": field, "message": "must be between 2000-01-01 and 9998-12-31"}]
    assert _orders(app) == 0


@pytest.mark.parametrize("query", ["createdFrom=0001-01-01", "createdTo=9999-12-31", "createdFrom=1999-12-31"])
def test_list_filters_outside_the_calendar_are_422(api, query):
    response = api.get(f"/api/v1/integration/payment?{query}")
    assert response.status_code == 422 and response.json["errors"][0]["field"] == query.split("=")[0]


@pytest.mark.parametrize("query", ["page=1&page=2", "orderId=A&orderId=B", "pageSize=&pageSize="])
def test_a_repeated_query_parameter_is_422(api, query):
    response = api.get(f"/api/v1/integration/payment?{query}")
    assert response.status_code == 422
    assert response.json["errors"] == [{"field": query.split("=")[0], "message": "given more than once"}]


def test_an_unknown_query_parameter_is_422_even_when_empty(api):
    for query in ("colour=", "colour=red"):
        response = api.get(f"/api/v1/integration/payment?{query}")
        assert response.status_code == 422 and response.json["errors"][0]["field"] == "colour", query


def test_an_unknown_body_field_is_422_even_when_null(app, api, make_reseller):
    make_reseller("R1001")
    response = api.post(CREATE, json=_order(colour=None))
    assert response.status_code == 422
    assert response.json["errors"] == [{"field": "colour", "message": "unknown field"}]
    response = api.put("/api/v1/integration/resellers/R1001",
                       json={"refundBankAccount": {"accountNo": "62220202", "accountName": "A", "bankCode": "ICBC",
                                                   "colour": None}})
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "refundBankAccount.colour"
    # A known optional field stays absent when null (docs/API.md §1).
    assert api.post(CREATE, json=_order(businessDesc=None, tags=None)).status_code == 201


@pytest.mark.parametrize("amount", [" 100.00", "100.00 ", "١٠٠", "１００", "100.00\n", "+100", "1e2", "0x10"])
def test_amount_text_is_ascii_digits_only(app, api, make_reseller, amount):
    make_reseller("R1001")
    response = api.post(CREATE, json=_order(paymentAmount=amount))
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "paymentAmount"
    assert _orders(app) == 0


def test_amount_bounds_as_the_document_states_them(app, api, make_reseller):
    make_reseller("R1001")
    doc = api.client.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    amount = schemas["CreatePaymentOrder"]["properties"]["paymentAmount"]["anyOf"]
    number = next(a for a in amount if a["type"] == "number")
    assert number["exclusiveMinimum"] == 0 and number["maximum"] == 99999999999.99
    for value, status in (("0.00", 422), ("-1.00", 422), ("99999999999.99", 201), ("100000000000.00", 422),
                          ("0099999999999.99", 201), ("000099999999999.99", 422), ("0.01", 201)):
        order = _order(paymentAmount=value, orderId=f"SO-{value}")
        assert api.post(CREATE, json=order).status_code == status, value


@pytest.mark.parametrize("account", ["123456\n", "١٢٣٤٥٦٧", "１２３４５６７", "12345"])
def test_bank_account_numbers_are_ascii_digits(api, account):
    response = api.post("/api/v1/disburse", json={
        "requestId": "R1", "merchantId": "M1", "bankAccountNo": account, "bankAccountName": "A", "bankCode": "ICBC",
        "amount": "1.00"})
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "bankAccountNo"


def test_the_document_describes_what_the_api_does(client):
    doc = client.get("/api/v1/openapi.json").json
    listing = doc["paths"]["/integration/payment"]["get"]
    assert all(p["allowEmptyValue"] for p in listing["parameters"] if p["in"] == "query")
    for path in ("/payment/callback/online/{channelCode}", "/payment/callback/refund/{channelCode}",
                 "/disburse/callback"):
        op = doc["paths"][path]["post"]
        assert {r: list(v["content"]) for r, v in op["responses"].items()} == {
            "200": ["text/plain"], "400": ["text/plain"], "404": ["text/plain"]}, path
        assert any(p["name"] == "X-Gateway-Signature" and p["required"] for p in op["parameters"])
    refund = doc["components"]["schemas"]["CreateRefund"]["properties"]["refundType"]
    assert {"type": "null"} in refund["anyOf"]  # null means absent, for every optional field


@pytest.mark.parametrize("path", ["/api/v1/disburse/callback", "/api/v1/payment/callback/online/ONLINE_UNIONPAY",
                                  "/api/v1/payment/callback/refund/ONLINE_UNIONPAY"])
@pytest.mark.parametrize("header", ["t=" + "9" * 400 + ",v1=ab", "t=-" + "9" * 400 + ",v1=ab", "t=,v1=", "x"])
def test_a_signature_with_an_absurd_timestamp_is_400(app, client, path, header):
    """A timestamp of 400 digits overflowed the float comparison of its age (a 500)."""
    with app.app_context():
        add_channel("ONLINE_UNIONPAY", "ONLINE", config={"base_url": "http://127.0.0.1:9", "merchant_no": "MCH1"},
                    secrets={"api_secret": "a", "callback_secret": "b"})
    response = client.post(path, data=b"{}", headers={"Content-Type": "application/json",
                                                      "X-Gateway-Signature": header})
    assert response.status_code == 400 and response.mimetype == "text/plain"


@pytest.mark.parametrize("header", ["Bearer \tKEY", "Bearer\tKEY", "Bearer \x1cKEY", "Bearer \xa0KEY", "Bearer KEY x",
                                    "Bearer KEY,", "Basic KEY", "KEY", "Bearer", "Bearer ", "Bearer \x0bKEY"])
def test_a_malformed_authorization_header_is_401_with_a_challenge(client, make_api_key, header):
    """RFC 7235 §2.1 / RFC 6750 §2.1: ``Bearer`` 1*SP b64token, nothing else (str.strip() had taken
    any Unicode blank for the separator). A 401 carries WWW-Authenticate (RFC 7235 §3.1)."""
    key = make_api_key()
    response = client.get("/api/v1/integration/credit/repayment", headers={"Authorization": header.replace("KEY", key)})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize("header", ["Bearer KEY", "bearer KEY", "BEARER KEY", "Bearer   KEY", "Bearer KEY ",
                                    " Bearer KEY"])
def test_a_well_formed_authorization_header_is_accepted(client, make_api_key, header):
    """The scheme is case-insensitive, 1*SP separates it, the blanks around a field value are not part of it."""
    key = make_api_key()
    response = client.get("/api/v1/integration/credit/repayment", headers={"Authorization": header.replace("KEY", key)})
    assert response.status_code == 200


# --- found by the hostile-route pass (tests/web/test_hostile_routes.py) ---------------------------

@pytest.mark.parametrize("who, path", [
    ("finance@example.com", "/finance/vouchers?reference=%00"),
    ("finance@example.com", "/finance/refunds?paymentId=a%00"),
    ("operator@r1001.example", "/orders?orderId=%00"), ("operator@r1001.example", "/checkout?ids=%00"),
    ("operator@r1001.example", "/wallet?x%00=1"),
])
def test_nul_in_a_screen_query_is_400(app, portal, who, path):
    """PostgreSQL text cannot hold NUL: the filters handed it on to the database (DataError, 500)."""
    assert _signed_in(app, who).get(path).status_code == 400


def test_nul_in_a_screen_form_is_400(app, portal):
    client = _signed_in(app, "operator@r1001.example")
    token = csrf_token(client, "/wallet")
    for data in ({"format": "csv\x00"}, {"rows": "\x00"}, {"x\x00": "1"}):
        assert client.post("/orders/export", data={**data, "csrf_token": token}).status_code == 400, data


@pytest.mark.parametrize("who, path, field", [
    ("operator@r1001.example", "/orders?createdFrom=0001-01-01", "createdFrom"),
    ("operator@r1001.example", "/orders?deadlineTo=9999-12-31", "deadlineTo"),
    ("operator@r1001.example", "/payments?created_from=0001-01-01", "created_from"),
    ("finance@example.com", "/finance/refunds?createdFrom=0001-01-01", "createdFrom"),
])
def test_screen_dates_outside_the_calendar_are_refused_in_the_users_language(app, portal, who, path, field):
    """Year 1 overflowed the Shanghai day bounds of the filter (OverflowError, 500)."""
    client = _signed_in(app, who)
    for lang, text in (("zh", "请输入 2000-01-01 至 9998-12-31 之间的日期。"),
                       ("en", "Enter a date between 2000-01-01 and 9998-12-31.")):
        response = client.get(f"{path}&lang={lang}")
        assert response.status_code in (200, 422), (path, response.status_code)
        assert text in response.get_data(as_text=True), (path, lang)


def test_a_thirty_digit_amount_filter_is_too_large_not_a_500(app, portal):
    client = _signed_in(app, "operator@r1001.example")
    response = client.get("/orders?minAmount=" + "9" * 30 + "&lang=en")
    assert response.status_code == 422 and "This amount is too large." in response.get_data(as_text=True)
