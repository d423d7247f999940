"""Merchant requests must be signed: every rejection is 401 SIGNATURE_INVALID and creates nothing."""

from __future__ import annotations

import json
import time

import pytest

from sandbox import signing

BODY = {"merchantNo": "MCH1001", "merchantOrderNo": "AUTH1", "amount": "1250.00", "currency": "CNY",
        "subject": "s", "notifyUrl": "http://127.0.0.1:9/n", "returnUrl": "http://127.0.0.1:9/r"}
RAW = json.dumps(BODY, separators=(",", ":")).encode()


def _tampered() -> bytes:
    return RAW.replace(b"1250.00", b"1250.01")


CASES = {
    "unsigned": dict(raw=RAW, sign=False),
    "wrong secret": dict(raw=RAW, secret="not-the-secret"),
    "callback secret instead of api secret": dict(raw=RAW, secret="callback-secret-1001"),
    "other merchant's secret": dict(raw=RAW, secret="api-secret-2002"),
    "stale by 301 s": dict(raw=RAW, t_offset=-301),
    # Ten seconds past the tolerance, not one: the request's own time on a loaded machine (it reaches
    # the gateway later than it was signed) brings a future timestamp back towards the tolerance.
    "future by 310 s": dict(raw=RAW, t_offset=310),
    "body changed by a byte": dict(raw=RAW, sign_raw=_tampered()),
    "re-serialised JSON": dict(raw=json.dumps(BODY).encode(), sign_raw=RAW),
    "truncated signature": dict(raw=RAW, mangle=lambda h: h[:-2]),
    "no timestamp": dict(raw=RAW, mangle=lambda h: h.split(",", 1)[1]),
    "garbage header": dict(raw=RAW, mangle=lambda h: "hello"),
    "unknown merchant": dict(raw=RAW.replace(b"MCH1001", b"MCH9999")),
    "not JSON": dict(raw=b"merchantNo=MCH1001"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rejected_and_nothing_created(sandbox, merchant, case):
    spec = CASES[case]
    t = int(time.time()) + spec.get("t_offset", 0)
    sign_raw = spec.get("sign_raw", spec["raw"])
    header = signing.sign(spec.get("secret", merchant.api_secret), sign_raw, t)
    if "mangle" in spec:
        header = spec["mangle"](header)
    r = merchant.post("/api/payments", spec["raw"], signature=header if spec.get("sign", True) else None,
                      sign=False)
    assert r.status == 401, r.text
    assert r.json()["code"] == "SIGNATURE_INVALID" and r.json()["message"]
    assert sandbox.stats()["payments"] == 0


def test_within_tolerance_is_accepted(sandbox, merchant):
    r = merchant.post("/api/payments", RAW, t=int(time.time()) - 295)
    assert r.status == 200, r.text
    assert sandbox.stats()["payments"] == 1


def test_every_merchant_endpoint_requires_a_signature(sandbox, merchant):
    for path in ("/api/payments/query", "/api/refunds", "/api/refunds/query", "/api/payouts",
                 "/api/payouts/query", "/api/statements"):
        r = merchant.post(path, {"merchantNo": "MCH1001"}, sign=False)
        assert r.status == 401 and r.json()["code"] == "SIGNATURE_INVALID", path
