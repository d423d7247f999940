"""Refunds (async, with callbacks) and payouts (every payout_outcome, incl. the client timeout)."""

from __future__ import annotations

import re
import time

import pytest

from sandbox import signing


@pytest.fixture
def paid(sandbox, new_payment, receiver):
    p = new_payment("100.00")
    sandbox.complete_payment(p["gatewayTxnId"], "SUCCESS")
    receiver.wait_for(1)
    receiver.clear()
    return p


def _refund(merchant, p, no, amount, **extra):
    return merchant.call("/api/refunds", merchantRefundNo=no, merchantOrderNo=p["merchantOrderNo"], amount=amount,
                         reason="returned goods", notifyUrl=extra.pop("notifyUrl"), **extra)


def test_refund_flow_and_refund_exceeds(sandbox, merchant, paid, receiver):
    r = _refund(merchant, paid, "RF1", "60.00", notifyUrl=receiver.url("/refund"))
    assert r.status == 200, r.text
    body = r.json()
    assert body["code"] == "OK" and body["status"] == "PROCESSING" and re.fullmatch(r"GR\d+", body["refundId"])

    too_much = _refund(merchant, paid, "RF2", "40.01", notifyUrl=receiver.url("/refund"))
    assert too_much.status == 409 and too_much.json()["code"] == "REFUND_EXCEEDS"

    cb = receiver.wait_for(1, timeout=3)[0]
    assert cb.path == "/refund" and signing.verify(sandbox.callback_secret(), cb.signature, cb.body)
    event = cb.json()
    assert event["type"] == "refund" and event["status"] == "SUCCESS" and event["refundId"] == body["refundId"]
    assert event["merchantRefundNo"] == "RF1" and event["merchantOrderNo"] == paid["merchantOrderNo"]
    assert event["amount"] == "60.00" and event["refundedAt"] and event["failReason"] is None

    q = merchant.call("/api/refunds/query", merchantRefundNo="RF1").json()
    assert q["status"] == "SUCCESS" and q["refundId"] == body["refundId"] and q["refundedAt"] == event["refundedAt"]

    # the rest is still refundable, exactly
    assert _refund(merchant, paid, "RF3", "40.00", notifyUrl=receiver.url("/refund")).status == 200


def test_refund_idempotency_and_failures(sandbox, merchant, paid, receiver, new_payment):
    sandbox.set_faults(refund_outcome="FAILED")
    first = _refund(merchant, paid, "RF9", "10.00", notifyUrl=receiver.url("/refund")).json()
    again = _refund(merchant, paid, "RF9", "10.00", notifyUrl=receiver.url("/refund")).json()
    assert again["refundId"] == first["refundId"]
    clash = _refund(merchant, paid, "RF9", "11.00", notifyUrl=receiver.url("/refund"))
    assert clash.status == 409 and clash.json()["code"] == "DUPLICATE_REFUND"
    event = receiver.wait_for(1, timeout=3)[0].json()
    assert event["status"] == "FAILED" and event["refundedAt"] is None and event["failReason"]
    assert sandbox.stats()["refunds"] == 1
    # a failed refund gives its amount back: the full 100.00 is refundable again
    assert _refund(merchant, paid, "RF10", "100.00", notifyUrl=receiver.url("/refund")).status == 200

    unpaid = new_payment("5.00")
    r = _refund(merchant, unpaid, "RF11", "1.00", notifyUrl=receiver.url("/refund"))
    assert r.status == 409 and r.json()["code"] == "ORDER_NOT_PAID"
    r = merchant.call("/api/refunds", merchantRefundNo="RF12", merchantOrderNo="NOPE", amount="1.00",
                      notifyUrl=receiver.url())
    assert r.status == 404 and r.json()["code"] == "ORDER_NOT_FOUND"
    r = merchant.call("/api/refunds/query", merchantRefundNo="NOPE")
    assert r.status == 404 and r.json()["code"] == "REFUND_NOT_FOUND"


def _payout(merchant, no, timeout=None, **extra):
    fields = {"merchantPayoutNo": no, "accountNo": "6222020000000001", "accountName": "Acme Trading",
              "bankCode": "ICBC", "amount": "500.00", "purpose": "rebate", **extra}
    return merchant.call("/api/payouts", timeout=timeout, **fields)


@pytest.mark.parametrize("outcome,status,reason", [("success", "SUCCESS", None), ("fail", "FAILED", "ACCOUNT_FROZEN")])
def test_sync_payouts(sandbox, merchant, receiver, outcome, status, reason):
    sandbox.set_faults(payout_outcome=outcome)
    r = _payout(merchant, f"PO-{outcome}", notifyUrl=receiver.url("/payout"))
    assert r.status == 200, r.text
    body = r.json()
    assert body["code"] == "OK" and body["status"] == status and body["failReason"] == reason
    assert re.fullmatch(r"GP\d+", body["payoutId"])
    assert (body["bankSerialNo"] is not None) == (status == "SUCCESS")
    time.sleep(0.3)
    assert receiver.requests == []  # a synchronous answer needs no callback


@pytest.mark.parametrize("outcome,status", [("async_success", "SUCCESS"), ("async_fail", "FAILED")])
def test_async_payouts(sandbox, merchant, receiver, outcome, status):
    sandbox.set_faults(payout_outcome=outcome)
    body = _payout(merchant, f"PO-{outcome}", notifyUrl=receiver.url("/payout")).json()
    assert body["status"] == "PROCESSING"
    event = receiver.wait_for(1, timeout=3)[0].json()
    assert event["type"] == "payout" and event["status"] == status and event["payoutId"] == body["payoutId"]
    assert event["merchantPayoutNo"] == f"PO-{outcome}" and event["amount"] == "500.00"
    q = merchant.call("/api/payouts/query", merchantPayoutNo=f"PO-{outcome}").json()
    assert q["status"] == status


def test_processing_forever_payout(sandbox, merchant, receiver):
    sandbox.set_faults(payout_outcome="processing_forever")
    assert _payout(merchant, "PO-forever", notifyUrl=receiver.url()).json()["status"] == "PROCESSING"
    time.sleep(0.5)
    assert merchant.call("/api/payouts/query", merchantPayoutNo="PO-forever").json()["status"] == "PROCESSING"
    assert receiver.requests == []


def test_timeout_payout_is_recorded_once_and_resolves(sandbox, merchant, receiver):
    sandbox.set_faults(payout_outcome="timeout")
    with pytest.raises(TimeoutError):
        _payout(merchant, "PO-timeout", timeout=1.0, notifyUrl=receiver.url("/payout"))
    q = merchant.call("/api/payouts/query", merchantPayoutNo="PO-timeout")
    assert q.status == 200 and q.json()["status"] in ("PROCESSING", "SUCCESS")
    repeat = _payout(merchant, "PO-timeout", timeout=1.0, notifyUrl=receiver.url("/payout"))  # answers at once
    assert repeat.status == 200 and repeat.json()["payoutId"] == q.json()["payoutId"]
    stats = sandbox.stats()
    assert stats["payouts"] == 1 and stats["payouts_by_merchant_payout_no"] == {"PO-timeout": 1}
    assert receiver.wait_for(1, timeout=3)[0].json()["status"] == "SUCCESS"
    assert merchant.call("/api/payouts/query", merchantPayoutNo="PO-timeout").json()["status"] == "SUCCESS"


def test_payout_repeat_never_creates_a_second_one(sandbox, merchant):
    first = _payout(merchant, "PO-rep").json()
    sandbox.set_faults(payout_outcome="fail")  # a repeat shows the existing payout, not a new outcome
    again = _payout(merchant, "PO-rep").json()
    assert again["payoutId"] == first["payoutId"] and again["status"] == "SUCCESS"
    clash = _payout(merchant, "PO-rep", amount="501.00")
    assert clash.status == 409 and clash.json()["code"] == "DUPLICATE_PAYOUT"
    assert sandbox.stats()["payouts_by_merchant_payout_no"] == {"PO-rep": 1}
    bad = _payout(merchant, "PO-bad", accountNo="12ab")
    assert bad.status == 400 and bad.json()["code"] == "INVALID_REQUEST"
    r = merchant.call("/api/payouts/query", merchantPayoutNo="NOPE")
    assert r.status == 404 and r.json()["code"] == "PAYOUT_NOT_FOUND"
