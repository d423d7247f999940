"""Hostile input found by the hardening pass (issue 11), each answered with a clear 4xx and nothing
stored — never a 500: bodies nested thousands of levels deep, a lone surrogate in a tag, page
numbers beyond any integer column, path ids beyond the id columns, NUL bytes in path segments."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import PaymentOrder
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
