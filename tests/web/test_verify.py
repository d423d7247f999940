"""/verify/<code>, the public page a receipt's QR code opens: it confirms only documents the portal
issued (READY), shows their key facts and nothing else, and is rate-limited per address."""

from __future__ import annotations

import uuid

from tests.support.documents import receipt_of, rendered_receipt
from tests.support.html import dom
from tests.support.screen_setup import make_order, pay


def _result(response):
    return dom(response.get_data(as_text=True)).one("verify-result")


def test_only_an_issued_document_is_confirmed(app, shop):
    mp_id = pay([(make_order(amount="4321.00"), "4321.00")], "WALLET").merged_payment_id
    pending_code = receipt_of(mp_id).verification_code
    client = app.test_client()
    answer = client.get(f"/verify/{pending_code}")  # requested, not printed yet: not issued
    assert answer.status_code == 404 and _result(answer).attrs["data-valid"] == "false"

    number, code = rendered_receipt(mp_id)
    answer = client.get(f"/verify/{code}")
    result = _result(answer)
    assert answer.status_code == 200 and result.attrs["data-valid"] == "true"
    assert result.one("verify-amount").text == "¥4,321.00" and number in result.text
    assert mp_id not in result.text and "Reseller R1001" not in result.text  # the payer is masked
    for bad in ("short", code.lower(), code[:-1] + "0", "%3Cscript%3E" + code[:4], code + "A"):
        answer = client.get(f"/verify/{bad}")
        assert answer.status_code == 404 and _result(answer).attrs["data-valid"] == "false", bad


def test_verification_is_rate_limited_per_address(app, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "3 per minute")
    address = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    client = app.test_client()
    for _ in range(3):
        assert client.get("/verify/AAAAAAAAAAAAAAAA", environ_base={"REMOTE_ADDR": address}).status_code == 404
    limited = client.get("/verify/AAAAAAAAAAAAAAAA", environ_base={"REMOTE_ADDR": address})
    assert limited.status_code == 429 and _result(limited).attrs["data-valid"] == "false"
    other = client.get("/verify/AAAAAAAAAAAAAAAA", environ_base={"REMOTE_ADDR": "10.8.0.1"})
    assert other.status_code == 404  # another address has its own budget
