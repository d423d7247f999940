"""/finance/disbursements: payouts with filters, the MANUAL queue settled as SUCCESS (bank serial number)
or FAILED (reason) through disbursements.settle_manual, bad inputs, and the account number shown only
masked on every page and fragment.

The payout gateway is an address where no bank answers, so a payout stays PROCESSING and the poller
parks it as MANUAL after its attempts — the real path to the queue."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, Disbursement, OutboxEvent
from app.models.types import now_utc
from app.services.payouts import creation as payouts
from app.services.payouts import merchants as payout_merchants
from app.services.payouts import polling as payout_polling
from app.services.payouts import request as payout_request
from app.services.platform.actor import Actor
from tests.support.screen_setup import HTMX, add_online_channel, count, in_app, post
from tests.support.web import csrf_token

SETTLEMENT = Actor(type="api_client", id="settlement")
ACCOUNT = "6222020200112233445"
MASKED = "6222 **** **** 3445"
OTHER_ACCOUNT = "6217000010098765432"


@in_app
def add_merchant(merchant_id: str = "M1001", name: str = "主付款账户") -> None:
    payout_merchants.upsert_merchant(SETTLEMENT, merchant_id, name, Decimal("1000000.00"), Decimal("10000000.00"))


@in_app
def payout(request_id: str, amount: str = "1234.56", account: str = ACCOUNT, merchant: str = "M1001") -> str:
    created = payouts.create(SETTLEMENT, payout_request.DisbursementRequest(
        request_id=request_id, merchant_id=merchant, bank_account_no=account, bank_account_name="张三",
        bank_code="ICBC", amount=Decimal(amount), purpose="供应商货款"))
    return created.order.order_no


@in_app
def poll_until_manual() -> None:
    """Run the poller on a clock that is always past the next poll, until its attempts run out."""
    now = now_utc()
    for i in range(1, payout_polling.MAX_POLL_ATTEMPTS + 2):
        payout_polling.poll_due(now=now + timedelta(hours=i))


@in_app
def status_of(order_no: str) -> tuple:
    d = db.session.scalar(sa.select(Disbursement).where(Disbursement.order_no == order_no))
    return d.status, d.bank_serial_no, d.fail_reason


@pytest.fixture
def payouts_desk(portal, signed_in):
    add_online_channel()
    add_merchant()
    add_merchant("M2002", "备用付款账户")
    client = signed_in("finance@example.com")
    return client, csrf_token(client, "/finance/disbursements")


@pytest.fixture
def manual(payouts_desk):
    """Two payouts parked as MANUAL and one still PROCESSING."""
    first, second = payout("REQ-1"), payout("REQ-2", "88.00", OTHER_ACCOUNT, "M2002")
    assert status_of(first)[0] == "PROCESSING"
    poll_until_manual()
    assert status_of(first)[0] == status_of(second)[0] == "MANUAL"
    processing = payout("REQ-3", "10.00")
    return first, second, processing


def manual_rows(body: str) -> list[str]:
    return re.findall(r'data-testid="manual-row" data-order-no="([^"]+)" data-status="MANUAL"', body)


def payout_rows(body: str) -> list[str]:
    return re.findall(r'data-testid="payout-row" data-order-no="([^"]+)"', body)


def test_list_and_manual_queue_show_the_account_masked_only(payouts_desk, manual):
    client, _ = payouts_desk
    first, second, processing = manual
    body = client.get("/finance/disbursements").get_data(as_text=True)
    assert sorted(manual_rows(body)) == sorted([first, second])
    assert sorted(payout_rows(body)) == sorted([first, second, processing])
    assert MASKED in body and "张三" in body and "¥1,234.56" in body and "供应商货款" in body
    assert ACCOUNT not in body and OTHER_ACCOUNT not in body and "0200112233" not in body
    assert 'data-testid="settle-serial"' in body and 'data-testid="settle-reason"' in body


@pytest.mark.parametrize("query, expected", [
    ("status=MANUAL", ["first", "second"]), ("status=PROCESSING", ["processing"]),
    ("merchantId=M2002", ["second"]), ("requestId=REQ-3", ["processing"]), ("status=SUCCESS", []),
    ("createdFrom=2000-01-01", ["first", "second", "processing"]), ("createdTo=2000-01-01", []),
])
def test_filters(payouts_desk, manual, query, expected):
    client, _ = payouts_desk
    names = dict(zip(("first", "second", "processing"), manual, strict=True))
    response = client.get(f"/finance/disbursements?{query}", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and "HX-Request" in response.headers["Vary"]
    assert sorted(payout_rows(body)) == sorted(names[e] for e in expected)
    assert ACCOUNT not in body


def test_settle_as_paid_with_the_bank_serial_number(payouts_desk, manual):
    client, token = payouts_desk
    first, second, _ = manual
    response = post(client, f"/finance/disbursements/{first}/settle",
                    {"outcome": "SUCCESS", "bankSerialNo": " BS20261123-0001 ", "back": "/finance/disbursements"},
                    token)
    assert response.status_code == 302 and response.headers["Location"] == "/finance/disbursements"
    assert status_of(first) == ("SUCCESS", "BS20261123-0001", None)
    assert status_of(second)[0] == "MANUAL"
    assert count(AuditEntry, AuditEntry.action == "disbursement.settle_manual", AuditEntry.target_id == first) == 1
    assert count(OutboxEvent, OutboxEvent.event_type == "disbursement.completed",
                 OutboxEvent.aggregate_id == first) == 1
    page = client.get("/finance/disbursements").get_data(as_text=True)
    assert 'data-testid="flash"' in page and "BS20261123-0001" in page
    assert manual_rows(page) == [second] and ACCOUNT not in page


def test_settle_as_failed_with_a_reason_over_htmx(payouts_desk, manual):
    client, token = payouts_desk
    first, _, _ = manual
    response = post(client, f"/finance/disbursements/{first}/settle?lang=en",
                    {"outcome": "FAILED", "reason": "对账单无此笔，银行退回"}, token, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert 'data-status="FAILED"' in body and "settled as failed" in body and "对账单无此笔，银行退回" in body
    assert MASKED in body and ACCOUNT not in body
    assert status_of(first) == ("FAILED", None, "对账单无此笔，银行退回")
    assert count(AuditEntry, AuditEntry.action == "disbursement.settle_manual") == 1


@pytest.mark.parametrize("data, field, zh, en", [
    ({"outcome": "SUCCESS", "bankSerialNo": ""}, "serial", "请填写银行对账单上的银行流水号",
     "Enter the bank serial number from the bank statement."),
    ({"outcome": "SUCCESS", "bankSerialNo": "BS 2026 11"}, "serial", "不能包含空格", "no spaces"),
    ({"outcome": "SUCCESS", "bankSerialNo": "B" * 65}, "serial", "最多 64 个字符", "at most 64 characters"),
    ({"outcome": "FAILED", "reason": "   "}, "reason", "请填写代付失败的原因", "Give the reason the payout failed."),
])
def test_bad_inputs_are_shown_next_to_the_field_and_change_nothing(payouts_desk, manual, data, field, zh, en):
    client, token = payouts_desk
    first, _, _ = manual
    before = status_of(first), count(AuditEntry)
    for lang, text in (("zh", zh), ("en", en)):
        for htmx in (False, True):
            response = post(client, f"/finance/disbursements/{first}/settle?lang={lang}", data, token, htmx=htmx)
            body = response.get_data(as_text=True)
            assert response.status_code == 422
            assert re.search(rf'id="{field}-{first}-error" role="alert">[^<]*{re.escape(text)}', body), (lang, htmx)
            assert ACCOUNT not in body
    assert (status_of(first), count(AuditEntry)) == before


def test_an_order_that_is_no_longer_manual_is_refused_with_a_clear_message(payouts_desk, manual, signed_in):
    client, token = payouts_desk
    first, _, processing = manual
    second_finance = signed_in("finance2@example.com")
    second_token = csrf_token(second_finance, "/finance/disbursements")
    assert post(client, f"/finance/disbursements/{first}/settle", {"outcome": "SUCCESS", "bankSerialNo": "BS1"},
                token).status_code == 302
    before = status_of(first), count(AuditEntry)
    for order_no in (first, processing):
        for htmx in (True, False):
            response = post(second_finance, f"/finance/disbursements/{order_no}/settle?lang=zh",
                            {"outcome": "FAILED", "reason": "bank returned it"}, second_token, htmx=htmx)
            body = response.get_data(as_text=True)
            assert response.status_code == 409 and "未做任何更改" in body and ACCOUNT not in body
    assert (status_of(first), count(AuditEntry)) == before
    assert status_of(processing)[0] == "PROCESSING"


def test_settling_needs_finance_the_token_and_a_known_order(app, payouts_desk, manual, signed_in):
    client, token = payouts_desk
    first, _, _ = manual
    assert client.post(f"/finance/disbursements/{first}/settle", data={"outcome": "SUCCESS",
                                                                       "bankSerialNo": "X"}).status_code == 400
    operator = signed_in("operator@r1001.example")
    assert post(operator, f"/finance/disbursements/{first}/settle", {"outcome": "SUCCESS", "bankSerialNo": "X"},
                csrf_token(operator, "/wallet")).status_code == 403
    assert signed_in("admin@example.com").get("/finance/disbursements").status_code == 403
    assert app.test_client().get("/finance/disbursements").status_code == 302
    assert post(client, "/finance/disbursements/DSB-NOPE/settle", {"outcome": "SUCCESS", "bankSerialNo": "X"},
                token).status_code == 404
    assert post(client, f"/finance/disbursements/{first}/settle", {"outcome": "MAYBE"}, token).status_code == 400
    assert status_of(first)[0] == "MANUAL"


def test_the_account_number_never_appears_in_any_page(payouts_desk, manual, signed_in):
    client, token = payouts_desk
    first, second, _ = manual
    pages = [client.get(p).get_data(as_text=True) for p in (
        "/finance/disbursements", "/finance/disbursements?lang=en", "/finance/disbursements?status=MANUAL",
        "/finance/disbursements?requestId=REQ-1", "/finance/disbursements?page=2")]
    pages.append(post(client, f"/finance/disbursements/{first}/settle", {"outcome": "SUCCESS"}, token).get_data(
        as_text=True))
    pages.append(post(client, f"/finance/disbursements/{second}/settle", {"outcome": "FAILED", "reason": "x"}, token,
                      htmx=True).get_data(as_text=True))
    for body in pages:
        assert ACCOUNT not in body and OTHER_ACCOUNT not in body
        assert "0200112233" not in body and "0001009876" not in body


def test_disbursements_in_english_and_chinese(payouts_desk, manual):
    client, _ = payouts_desk
    en = client.get("/finance/disbursements?lang=en").get_data(as_text=True)
    assert "Needs manual check" in en and "Bank serial number" in en and "Mark as paid" in en
    zh = client.get("/finance/disbursements?lang=zh").get_data(as_text=True)
    assert "银行流水号" in zh and "确认代付成功" in zh and "确认代付失败" in zh
