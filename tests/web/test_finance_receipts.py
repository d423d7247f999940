"""The unidentified receipts queue on /finance/reconciliation through the test client with CSRF on:
each receipt carries its action hooks (and UI.md's ``unidentified-row`` / ``unidentified-assign``);
accepting the suggestion confirms the wire; assigning above the threshold waits for a second finance
user (the first one is refused); returning needs a reason; a bad input shows its error next to the
field in zh and en and changes nothing. And the day's export (CSV, XLSX) adds up to the finance API's
summary of the same day."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import AuditEntry, BankReceipt, Reseller
from tests.support.screen_setup import (
    channel_payment_status,
    count,
    in_app,
    make_order,
    open_receipt,
    pay,
    post,
    recon_exception,
    wallet_of,
    wire_payment,
)
from tests.support.web import csrf_token

URL = "/finance/reconciliation"


@in_app
def _receipt(pk: int) -> BankReceipt:
    row = db.session.get(BankReceipt, pk)
    db.session.expunge(row)
    return row


@in_app
def _threshold(code: str, value: str) -> None:
    db.session.scalar(sa.select(Reseller).where(Reseller.code == code)).approval_threshold = Decimal(value)
    db.session.commit()


@pytest.fixture
def desk(shop, signed_in):
    client = signed_in("finance@example.com")
    return client, csrf_token(client, URL)


def _stored(pk: int) -> tuple:
    r = _receipt(pk)
    return r.state, r.wallet_change_id, count(AuditEntry), wallet_of("R1002")


def test_accepting_the_suggestion_confirms_the_wire_and_a_missing_note_changes_nothing(desk):
    client, token = desk
    cp = wire_payment([(make_order("R1001", "800.00"), "800.00")])
    pk = open_receipt("800.00", suggestions=[{"channelPaymentId": cp.channel_payment_id, "score": 90,
                                              "reasons": ["AMOUNT", "PAYER_NAME"]}])
    body = client.get(URL + "?lang=en").get_data(as_text=True)
    assert re.findall(r'data-testid="unidentified-row" data-amount="([^"]+)"[^>]* data-receipt-id="(\d+)"', body) == [
        ("800.00", str(pk))]
    for hook in (f"receipt-accept-{pk}", f"receipt-assign-{pk}", f"receipt-return-{pk}", "unidentified-assign"):
        assert f'data-testid="{hook}"' in body, hook
    assert "receipt-approve-" not in body
    zh = client.get(URL + "?lang=zh").get_data(as_text=True)
    assert "确认付款" in zh and "入账到经销商企业寄存资金" in zh and "导出当日（CSV）" in zh
    before = _stored(pk)
    for lang, message in (("en", "Say why this payment is the one"), ("zh", "请说明为什么是这笔付款")):
        refused = post(client, f"{URL}/receipts/{pk}/accept", {"payment": cp.channel_payment_id, "note": " "},
                       token, lang=lang)
        text = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in text and f'id="note-{pk}-error"' in text
    unknown = post(client, f"{URL}/receipts/{pk}/accept", {"payment_code": "WZZZZZZZZZ", "note": "x"}, token,
                   lang="en")
    assert unknown.status_code == 422 and "No wire payment has this number" in unknown.get_data(as_text=True)
    assert _stored(pk) == before and channel_payment_status(cp.id) == "PROCESSING"
    done = post(client, f"{URL}/receipts/{pk}/accept", {"payment": cp.channel_payment_id, "note": "same amount"},
                token)
    assert done.status_code == 302
    r = _receipt(pk)
    assert (r.state, r.channel_payment_id, r.resolution_note) == ("MATCHED", cp.id, "same amount")
    assert channel_payment_status(cp.id) == "SUCCESS"
    again = post(client, f"{URL}/receipts/{pk}/return", {"note": "sent back"}, token, lang="en")
    assert again.status_code == 409 and "already decided" in again.get_data(as_text=True)


def test_an_assignment_above_the_threshold_waits_for_a_second_finance_user(desk, signed_in):
    client, token = desk
    _threshold("R1002", "1000.00")
    pk = open_receipt("1500.00", reference="BR-BIG")
    before = wallet_of("R1002")
    bad = post(client, f"{URL}/receipts/{pk}/assign", {"reseller": "R9999", "note": "theirs"}, token, lang="zh")
    assert bad.status_code == 422 and "没有经销商使用此编码" in bad.get_data(as_text=True)
    assigned = post(client, f"{URL}/receipts/{pk}/assign", {"reseller": "R1002", "note": "theirs"}, token)
    assert assigned.status_code == 302
    assert wallet_of("R1002") == before and _receipt(pk).state == "OPEN"
    page = client.get(URL + "?lang=en").get_data(as_text=True)
    assert f'data-testid="receipt-approve-{pk}"' in page and 'data-waiting="true"' in page
    mine = post(client, f"{URL}/receipts/{pk}/approve", {}, token, lang="en")
    assert mine.status_code == 403 and "a second finance user must approve" in mine.get_data(as_text=True)
    assert wallet_of("R1002") == before
    second = signed_in("finance2@example.com")
    approved = post(second, f"{URL}/receipts/{pk}/approve", {}, csrf_token(second, URL))
    assert approved.status_code == 302
    assert wallet_of("R1002") == before + Decimal("1500.00") and _receipt(pk).state == "ASSIGNED"


def test_returning_needs_a_reason(desk):
    client, token = desk
    pk = open_receipt("20.00")
    before = _stored(pk)
    refused = post(client, f"{URL}/receipts/{pk}/return", {"note": ""}, token, lang="zh")
    assert refused.status_code == 422 and "请填写退回款项的原因" in refused.get_data(as_text=True)
    assert _stored(pk) == before
    assert post(client, f"{URL}/receipts/{pk}/return", {"note": "payer asked"}, token).status_code == 302
    assert (_receipt(pk).state, _receipt(pk).resolution_note) == ("RETURNED", "payer asked")


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_day_export_adds_up_to_the_finance_api(app, desk, make_api_key):
    client, _ = desk
    today = shanghai_today().isoformat()
    pay([(make_order("R1001", "300.00"), "300.00")], "WALLET")
    pay([(make_order("R1001", "120.50"), "120.50")], "WALLET")
    recon_exception(day=shanghai_today())
    api = app.test_client()
    summary = api.get(f"/api/v1/integration/finance/reconciliation/{today}",
                      headers={"Authorization": f"Bearer {make_api_key('finance')}"}).get_json()["data"]["summary"]
    exported = client.get(f"{URL}/export?exportDay={today}&format=csv")
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    rows = _csv_rows(exported.data)
    total = {r["item"]: r for r in rows if r["section"] == "SUMMARY"}
    assert (total["PAYMENT"]["amount"], int(total["PAYMENT"]["count"])) == (summary["totalPaymentAmount"],
                                                                            summary["totalPaymentCount"]) == (
        "420.50", 2)
    assert total["REFUND"]["amount"] == summary["totalRefundAmount"]
    assert total["NET"]["amount"] == summary["netAmount"]
    exceptions = [(r["channelCode"], r["item"], r["amount"]) for r in rows if r["section"] == "EXCEPTION"]
    assert int(total["EXCEPTIONS"]["count"]) == summary["exceptionCount"] == len(exceptions) > 0
    channel = sum(Decimal(r["amount"]) for r in rows if r["section"] == "CHANNEL" and r["item"] == "PAYMENT")
    assert channel == Decimal(summary["totalPaymentAmount"])
    assert ("WALLET", "MISSING_IN_SYSTEM", "88.00") in exceptions
    assert {r["item"] for r in rows if r["section"] == "RUN"} >= {"MATCHED", "MISSING_IN_SYSTEM"}
    xlsx = client.get(f"{URL}/export?exportDay={today}&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    header = values[0]
    first = dict(zip(header, values[1], strict=True))
    assert (first["section"], first["item"], Decimal(str(first["amount"]))) == (
        "SUMMARY", "PAYMENT", Decimal(summary["totalPaymentAmount"]))
    bad = client.get(f"{URL}/export?exportDay=2026-02-30&format=csv&lang=zh")
    assert bad.status_code == 422 and "请输入要导出的日期" in bad.get_data(as_text=True)
    assert client.get(f"{URL}/export?exportDay={today}&format=pdf").status_code == 422
