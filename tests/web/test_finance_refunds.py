"""/finance/refunds: refunds and their parts with filters, the failure reason of a failed part, and the
retry of a FAILED part (refunds.retry_part) through the test client with CSRF on.

The ONLINE channel points at an address where no bank answers, so refund parts stay PROCESSING until the
test settles them the way a gateway callback would (``settle_refund_part``)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, PaymentTransaction
from app.services.platform.actor import Actor
from app.services.refunds import creation as refunds
from app.services.refunds import part_settlement as refund_settlement
from app.services.refunds import view as refund_view
from app.services.refunds.instruction import RefundInstruction
from app.services.settlement import channel_result as settlement
from tests.support.screen_setup import (
    HTMX,
    add_channel,
    add_online_channel,
    count,
    in_app,
    make_order,
    order,
    pay,
    post,
)
from tests.support.web import csrf_token

ORDER_SYSTEM = Actor(type="api_client", id="order-system")


@in_app
def paid_online(amount: str, **kw) -> str:
    """An order paid in full over ONLINE (the bank's success applied as a callback would)."""
    pid = make_order(amount=amount, **kw)
    cp = pay([(pid, amount)], "ONLINE_UNIONPAY")
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", channel_transaction_id=f"GW-{pid}"),
                      Actor(type="channel", id="ONLINE_UNIONPAY"))
    return pid


@in_app
def paid_wallet(amount: str) -> str:
    pid = make_order(amount=amount)
    pay([(pid, amount)], "WALLET")
    return pid


@in_app
def refund(pid: str, amount: str, ro: str, reason: str = "规格变更") -> list[str]:
    """The order system's refund instruction; returns its parts' transaction ids."""
    r, _, _ = refunds.create_refund(ORDER_SYSTEM, RefundInstruction(
        refund_order_id=ro, payment_id=pid, amount=Decimal(amount), reason=reason))
    return [p["transactionId"] for p in refund_view.refund_dict(r)["parts"]]


@in_app
def part(transaction_id: str) -> PaymentTransaction:
    t = db.session.scalar(sa.select(PaymentTransaction).where(PaymentTransaction.transaction_id == transaction_id))
    db.session.expunge(t)
    return t


@in_app
def parts_of(ro: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in db.session.execute(
        sa.select(PaymentTransaction.transaction_id, PaymentTransaction.status)
        .where(PaymentTransaction.business_order_id == ro, PaymentTransaction.transaction_type == "REFUND")
        .order_by(PaymentTransaction.id)).all()]


@in_app
def bank_says(transaction_id: str, status: str, reason: str = "") -> None:
    refund_settlement.settle_refund_part(part(transaction_id).id, status, reason,
                                         Actor(type="channel", id="ONLINE_UNIONPAY"))


@pytest.fixture
def refunds_desk(portal, signed_in):
    add_channel("WALLET", "WALLET")
    add_online_channel()
    client = signed_in("finance@example.com")
    return client, csrf_token(client, "/finance/refunds")


@pytest.fixture
def failed_refund(refunds_desk):
    """RO-FAIL: ¥200.00 of an ONLINE order of ¥500.00, its one part FAILED at the bank."""
    pid = paid_online("500.00")
    (txn,) = refund(pid, "200.00", "RO-FAIL")
    assert part(txn).status == "PROCESSING"
    bank_says(txn, "FAILED", "ACCOUNT_CLOSED: 收款账户已销户")
    return pid, txn


def rows(body: str) -> list[str]:
    return re.findall(r'data-testid="refund-row" data-refund-order-id="([^"]+)"', body)


def test_refunds_with_parts_and_the_failure_reason(refunds_desk, failed_refund):
    client, _ = refunds_desk
    pid, txn = failed_refund
    body = client.get("/finance/refunds").get_data(as_text=True)
    assert rows(body) == ["RO-FAIL"]
    assert txn in body and "ONLINE_UNIONPAY" in body and "¥200.00" in body
    assert "ACCOUNT_CLOSED: 收款账户已销户" in body and "规格变更" in body
    assert f'data-transaction-id="{txn}" data-status="FAILED"' in body
    assert 'data-testid="refund-retry"' in body and pid in body
    assert "<script>" not in body and " style=" not in body


def test_filters_by_status_refund_order_payment_id_and_date(refunds_desk, failed_refund):
    client, _ = refunds_desk
    pid, _ = failed_refund
    other = paid_wallet("300.00")
    refund(other, "100.00", "RO-WALLET")
    assert sorted(rows(client.get("/finance/refunds").get_data(as_text=True))) == ["RO-FAIL", "RO-WALLET"]
    for query, expected in (("status=FAILED", ["RO-FAIL"]), ("status=SUCCESS", ["RO-WALLET"]),
                            ("refundOrderId=RO-WALLET", ["RO-WALLET"]), (f"paymentId={pid}", ["RO-FAIL"]),
                            (f"paymentId={other}&status=FAILED", []), ("createdFrom=2000-01-01", None),
                            ("createdTo=2000-01-01", [])):
        response = client.get(f"/finance/refunds?{query}", headers=HTMX)
        assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
        found = sorted(rows(response.get_data(as_text=True)))
        assert found == (expected if expected is not None else ["RO-FAIL", "RO-WALLET"]), query
    page = client.get("/finance/refunds?status=FAILED").get_data(as_text=True)
    assert '<option value="FAILED" selected>' in page  # the filter stays in the URL and the form


def test_a_bad_date_is_shown_next_to_its_field_and_ignored(refunds_desk, failed_refund):
    client, _ = refunds_desk
    for lang, text in (("zh", "请输入日期"), ("en", "Enter a date like 2026-11-30.")):
        body = client.get(f"/finance/refunds?createdFrom=31/12/2026&lang={lang}").get_data(as_text=True)
        assert re.search(rf'id="createdFrom-error" role="alert">[^<]*{re.escape(text)}', body)
        assert rows(body) == ["RO-FAIL"]


def test_retry_of_a_failed_part_makes_a_new_part_and_is_audited(refunds_desk, failed_refund):
    client, token = refunds_desk
    pid, txn = failed_refund
    assert order(pid).refund_status == "REFUND_FAILED"
    response = post(client, f"/finance/refunds/parts/{txn}/retry", {"back": "/finance/refunds?status=FAILED"}, token)
    assert response.status_code == 302 and response.headers["Location"] == "/finance/refunds?status=FAILED"
    (_, failed_status), (new_txn, new_status) = parts_of("RO-FAIL")
    assert (failed_status, new_status) == ("FAILED", "PROCESSING")
    assert part(new_txn).remark == f"retry of {txn}"
    assert count(AuditEntry, AuditEntry.action == "refund_part.retried", AuditEntry.target_id == txn) == 1
    page = client.get("/finance/refunds").get_data(as_text=True)
    assert 'data-testid="flash"' in page and new_txn in page
    assert 'data-testid="refund-retry"' not in page  # the failed amount is in flight again
    bank_says(new_txn, "SUCCESS")
    assert order(pid).refunded_amount == Decimal("200.00") and order(pid).refund_status == "PARTIAL_REFUNDED"
    assert 'data-status="SUCCESS"' in client.get("/finance/refunds").get_data(as_text=True)


def test_retry_with_htmx_answers_the_refund_card(refunds_desk, failed_refund):
    client, token = refunds_desk
    _, txn = failed_refund
    response = post(client, f"/finance/refunds/parts/{txn}/retry?lang=en", {}, token, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert 'data-testid="flash"' in body and f"Retry of {txn} sent as" in body
    assert body.count('data-testid="refund-part"') == 2


def test_a_second_retry_is_refused_with_a_clear_message_and_changes_nothing(refunds_desk, failed_refund):
    client, token = refunds_desk
    _, txn = failed_refund
    assert post(client, f"/finance/refunds/parts/{txn}/retry", {}, token, htmx=True).status_code == 200
    before = parts_of("RO-FAIL"), count(AuditEntry)
    for lang, text in (("zh", "已无可重试的金额"), ("en", "Nothing is left to retry")):
        response = post(client, f"/finance/refunds/parts/{txn}/retry?lang={lang}", {}, token, htmx=True)
        assert response.status_code == 409 and text in response.get_data(as_text=True)
    response = post(client, f"/finance/refunds/parts/{txn}/retry?lang=zh", {}, token)
    assert response.status_code == 302
    assert "已无可重试的金额" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert (parts_of("RO-FAIL"), count(AuditEntry)) == before


def test_a_part_that_did_not_fail_cannot_be_retried(refunds_desk):
    client, token = refunds_desk
    (txn,) = refund(paid_wallet("300.00"), "100.00", "RO-OK")
    response = post(client, f"/finance/refunds/parts/{txn}/retry?lang=en", {}, token, htmx=True)
    assert response.status_code == 409 and "Only a failed part can be retried" in response.get_data(as_text=True)
    assert len(parts_of("RO-OK")) == 1


def test_retry_needs_finance_and_the_token(app, refunds_desk, failed_refund, signed_in):
    client, _ = refunds_desk
    _, txn = failed_refund
    assert client.post(f"/finance/refunds/parts/{txn}/retry").status_code == 400
    operator = signed_in("operator@r1001.example")
    token = csrf_token(operator, "/wallet")
    assert post(operator, f"/finance/refunds/parts/{txn}/retry", {}, token).status_code == 403
    assert signed_in("admin@example.com").get("/finance/refunds").status_code == 403
    assert app.test_client().get("/finance/refunds").status_code == 302
    assert post(client, "/finance/refunds/parts/TXN-NOPE/retry", {}, csrf_token(client, "/finance/refunds")
                ).status_code == 404
    assert len(parts_of("RO-FAIL")) == 1


def test_a_foreign_back_address_is_not_followed(refunds_desk, failed_refund):
    client, token = refunds_desk
    _, txn = failed_refund
    response = post(client, f"/finance/refunds/parts/{txn}/retry", {"back": "//evil.example/finance/refunds"}, token)
    assert response.headers["Location"] == "/finance/refunds"


def test_refunds_in_english_and_chinese(refunds_desk, failed_refund):
    client, _ = refunds_desk
    en = client.get("/finance/refunds?lang=en").get_data(as_text=True)
    assert "Refund order ID" in en and "Failure reason" in en and "Retry" in en
    zh = client.get("/finance/refunds?lang=zh").get_data(as_text=True)
    assert "退款单号" in zh and "失败原因" in zh and "重试" in zh
