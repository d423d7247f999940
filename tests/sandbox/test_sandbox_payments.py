"""Payments through the real sandbox process: create, pay page, outcomes, callbacks, query, idempotency."""

from __future__ import annotations

import re
import time
from datetime import datetime

from sandbox import signing
from sandbox.testing import http_request, wait_until


def _testid(html: str, testid: str) -> re.Match:
    m = re.search(r'<(\w+)[^>]*data-testid="' + re.escape(testid) + r'"[^>]*>(.*?)</\1>', html, re.S)
    assert m, f"no element with data-testid={testid}"
    return m


def test_create_pay_page_pay_and_signed_callback(sandbox, merchant, new_payment, receiver):
    p = new_payment("1250.00")
    assert p["code"] == "OK" and p["status"] == "PENDING"
    assert re.fullmatch(r"GW\d+", p["gatewayTxnId"])
    assert p["payUrl"] == f"{sandbox.base_url}/pay/{p['gatewayTxnId']}"

    page = http_request("GET", p["payUrl"])
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    amount = _testid(html, "gateway-amount")
    assert amount.group(2).strip() == "¥1,250.00"
    assert 'data-amount="1250.00"' in amount.group(0)
    assert _testid(html, "gateway-order").group(2).strip() == p["merchantOrderNo"]
    for testid, action in (("gateway-pay", "pay"), ("gateway-decline", "decline"),
                           ("gateway-processing", "processing")):
        form = re.search(r'<form method="post" action="([^"]+)">\s*<button[^>]*data-testid="' + testid + '"', html)
        assert form and form.group(1) == f"/pay/{p['gatewayTxnId']}/{action}"
    assert "<script" not in html and "src=" not in html and "<link" not in html  # no external assets

    r = http_request("POST", f"{p['payUrl']}/pay", b"", {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 303 and r.headers["location"] == "http://127.0.0.1:9/payments/42"

    (cb,) = receiver.wait_for(1)
    assert cb.path == "/notify"
    assert signing.verify(sandbox.callback_secret("MCH1001"), cb.signature, cb.body)
    assert not signing.verify("api-secret-1001", cb.signature, cb.body)
    body = cb.json()
    assert body["type"] == "payment" and body["status"] == "SUCCESS" and body["failReason"] is None
    assert body["merchantNo"] == "MCH1001" and body["merchantOrderNo"] == p["merchantOrderNo"]
    assert body["gatewayTxnId"] == p["gatewayTxnId"] and body["amount"] == "1250.00" and body["currency"] == "CNY"
    assert body["eventId"].startswith("EV")
    assert datetime.fromisoformat(body["paidAt"]).utcoffset().total_seconds() == 8 * 3600

    record = wait_until(lambda: (rec := sandbox.payment(p["gatewayTxnId"]))["callbacks"][0]["status"] == "ACKED"
                        and rec)
    (delivery,) = record["callbacks"][0]["deliveries"]
    assert delivery["httpStatus"] == 200 and delivery["outcome"] == "ACKED"

    q = merchant.call("/api/payments/query", merchantOrderNo=p["merchantOrderNo"]).json()
    assert q["code"] == "OK" and q["status"] == "SUCCESS" and q["paidAt"] == body["paidAt"]
    assert q["gatewayTxnId"] == p["gatewayTxnId"] and q["amount"] == "1250.00"

    final = http_request("GET", p["payUrl"]).text  # a final payment shows its status and no buttons
    assert 'data-status="SUCCESS"' in final and "gateway-pay" not in final and "gateway-decline" not in final
    again = http_request("POST", f"{p['payUrl']}/decline", b"")
    assert again.status == 409 and 'data-status="SUCCESS"' in again.text


def test_decline_sends_failed_callback(sandbox, merchant, new_payment, receiver):
    p = new_payment("10.00")
    r = http_request("POST", f"{p['payUrl']}/decline", b"")
    assert r.status == 303
    body = receiver.wait_for(1)[0].json()
    assert body["status"] == "FAILED" and body["paidAt"] is None and body["failReason"] == "DECLINED"
    assert merchant.call("/api/payments/query", merchantOrderNo=p["merchantOrderNo"]).json()["status"] == "FAILED"


def test_processing_then_resolves(sandbox, merchant, new_payment, receiver):
    sandbox.set_faults(processing_resolves_to="FAILED", processing_delay_ms=400)
    p = new_payment("20.00")
    assert http_request("POST", f"{p['payUrl']}/processing", b"").status == 303
    q = merchant.call("/api/payments/query", merchantOrderNo=p["merchantOrderNo"]).json()
    assert q["status"] == "PROCESSING"
    page = http_request("GET", p["payUrl"]).text
    assert 'data-status="PROCESSING"' in page and "gateway-pay" not in page
    assert receiver.requests == []
    body = receiver.wait_for(1, timeout=5)[0].json()
    assert body["status"] == "FAILED" and body["failReason"] == "BANK_REJECTED"
    assert merchant.call("/api/payments/query", merchantOrderNo=p["merchantOrderNo"]).json()["status"] == "FAILED"


def test_admin_complete_is_the_same_as_the_buttons(sandbox, new_payment, receiver):
    p = new_payment("30.00")
    rec = sandbox.complete_payment(p["gatewayTxnId"], "PROCESSING")
    assert rec["status"] == "PROCESSING"
    rec = sandbox.complete_payment(p["gatewayTxnId"], "SUCCESS")  # settles the processing one early
    assert rec["status"] == "SUCCESS"
    assert receiver.wait_for(1)[0].json()["status"] == "SUCCESS"
    assert sandbox.admin("POST", f"/_sandbox/payments/{p['gatewayTxnId']}/complete",
                         {"status": "FAILED"}).status == 409
    time.sleep(0.5)  # the processing timer must not fire a second outcome
    assert len(receiver.requests) == 1


def test_idempotent_create_and_duplicate_order(sandbox, merchant, new_payment):
    p = new_payment("99.90", merchantOrderNo="IDEM-1")
    again = merchant.call("/api/payments", merchantOrderNo="IDEM-1", amount="99.90", currency="CNY",
                          subject="Order payment", notifyUrl="http://127.0.0.1:9/n", returnUrl="http://127.0.0.1:9/r")
    assert again.status == 200
    assert again.json()["gatewayTxnId"] == p["gatewayTxnId"] and again.json()["payUrl"] == p["payUrl"]
    clash = merchant.call("/api/payments", merchantOrderNo="IDEM-1", amount="99.91", currency="CNY",
                          subject="Order payment", notifyUrl="http://127.0.0.1:9/n", returnUrl="http://127.0.0.1:9/r")
    assert clash.status == 409 and clash.json()["code"] == "DUPLICATE_ORDER"
    assert sandbox.stats()["payments"] == 1
    # another merchant may use the same order number
    other = sandbox.client("MCH2002").call("/api/payments", merchantOrderNo="IDEM-1", amount="1.00",
                                           subject="x", notifyUrl="http://127.0.0.1:9/n",
                                           returnUrl="http://127.0.0.1:9/r")
    assert other.status == 200 and other.json()["gatewayTxnId"] != p["gatewayTxnId"]


def test_validation_errors(sandbox, merchant):
    good = {"merchantOrderNo": "V1", "amount": "1.00", "currency": "CNY", "subject": "s",
            "notifyUrl": "http://127.0.0.1:9/n", "returnUrl": "http://127.0.0.1:9/r"}
    for change in ({"amount": "1.001"}, {"amount": "-1.00"}, {"amount": "0.00"}, {"amount": 1.5e300},
                   {"amount": None}, {"currency": "USD"}, {"notifyUrl": "ftp://x"}, {"returnUrl": None},
                   {"merchantOrderNo": "has space"}, {"subject": ""}, {"expireSeconds": 0}):
        r = merchant.call("/api/payments", **{**good, **change})
        assert r.status == 400 and r.json()["code"] == "INVALID_REQUEST", (change, r.text)
    assert sandbox.stats()["payments"] == 0
    assert merchant.call("/api/payments", **good).status == 200


def test_query_unknown_and_system_busy(sandbox, merchant, new_payment):
    r = merchant.call("/api/payments/query", merchantOrderNo="NOPE")
    assert r.status == 404 and r.json()["code"] == "ORDER_NOT_FOUND"
    p = new_payment()
    sandbox.set_faults(query_error_rate=1.0)
    r = merchant.call("/api/payments/query", merchantOrderNo=p["merchantOrderNo"])
    assert r.status == 503 and r.json()["code"] == "SYSTEM_BUSY"
    sandbox.set_faults(query_error_rate=0.0)
    assert merchant.call("/api/payments/query", merchantOrderNo=p["merchantOrderNo"]).json()["status"] == "PENDING"


def test_unpaid_payment_expires(sandbox, merchant, new_payment, receiver):
    p = new_payment(expireSeconds=1)
    wait_until(lambda: merchant.call("/api/payments/query", merchantOrderNo=p["merchantOrderNo"])
               .json()["status"] == "EXPIRED", timeout=4)
    assert http_request("POST", f"{p['payUrl']}/pay", b"").status == 409
    assert receiver.requests == []  # no callback for an expiry


def test_unknown_pay_page_is_404(sandbox):
    assert http_request("GET", f"{sandbox.base_url}/pay/GW000").status == 404


def test_concurrent_identical_creates_make_one_payment(sandbox, merchant):
    from concurrent.futures import ThreadPoolExecutor

    fields = {"merchantOrderNo": "RACE-1", "amount": "5.00", "subject": "s", "notifyUrl": "http://127.0.0.1:9/n",
              "returnUrl": "http://127.0.0.1:9/r"}
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: merchant.call("/api/payments", **fields), range(5)))
    assert {a.status for a in answers} == {200}
    assert len({a.json()["gatewayTxnId"] for a in answers}) == 1
    assert sandbox.stats()["payments"] == 1
