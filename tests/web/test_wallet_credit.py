"""/wallet and /credit: the signed-in reseller's balance and ledger, credit line, records and repayment
orders — only that company's rows, paginated, in Chinese and English."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import CreditRecord, PaymentOrder
from app.services.ledgers import wallet
from app.services.platform.actor import Actor
from tests.support.screen_setup import (
    HTMX,
    add_channel,
    add_wire_channel,
    in_app,
    make_order,
    pay,
    upload,
    user_id,
    wire_payment,
)

FINANCE = Actor(type="user", id="finance@example.com")


@in_app
def top_up(code: str, amount: str, memo: str) -> None:
    from app.models import Reseller

    rid = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == code))
    wallet.top_up(FINANCE, rid, Decimal(amount), memo)
    db.session.commit()


@in_app
def records(code: str) -> list[str]:
    from app.models import Reseller

    return list(db.session.scalars(sa.select(CreditRecord.credit_record_id).join(
        Reseller, Reseller.id == CreditRecord.reseller_id).where(Reseller.code == code)))


@in_app
def make_overdue(record_id: str) -> None:
    rec = db.session.scalar(sa.select(CreditRecord).where(CreditRecord.credit_record_id == record_id))
    rec.due_date = shanghai_today() - timedelta(days=3)
    db.session.commit()


@in_app
def repayment_orders(record_id: str) -> list[str]:
    return list(db.session.scalars(sa.select(PaymentOrder.payment_id).where(
        PaymentOrder.related_business_id == record_id)))


@pytest.fixture
def ledgers(app, portal, monkeypatch):
    add_channel("WALLET", "WALLET")
    add_channel("CREDIT", "CREDIT")
    monkeypatch.setitem(app.config, "AUTO_CREDIT_REPAYMENT_ORDERS", True)
    return portal


def entries(body: str) -> list[str]:
    return re.findall(r'data-testid="wallet-entry" data-type="([A-Z_]+)"', body)


def test_wallet_shows_the_balance_and_the_own_ledger_only(ledgers, signed_in):
    top_up("R1001", "1000.00", "财务充值 R1001")
    top_up("R1002", "2000.00", "财务充值 R1002 secret")
    pid = make_order(amount="300.00")
    pay([(pid, "300.00")], "WALLET")
    body = signed_in("operator@r1001.example").get("/wallet").get_data(as_text=True)
    balance = re.search(r'data-testid="wallet-balance">.*?class="value num">([^<]+)<', body, re.S).group(1)
    assert balance == "¥500,700.00"  # 500,000 at the start + 1,000 − 300
    assert entries(body) == ["PAYMENT", "TOPUP"]
    assert "财务充值 R1001" in body and "-¥300.00" in body and "+¥1,000.00" in body
    assert "R1002 secret" not in body and "¥2,000.00" not in body
    other = signed_in("operator@r1002.example").get("/wallet").get_data(as_text=True)
    assert entries(other) == ["TOPUP"] and "R1002 secret" in other and "R1001" not in other
    assert "¥3,000.00" in other  # 1,000 at the start + 2,000


def test_wallet_is_paginated_and_filtered_by_type(ledgers, signed_in):
    for i in range(23):
        top_up("R1001", f"{i + 1}.00", f"top-up {i + 1}")
    pid = make_order(amount="50.00")
    pay([(pid, "50.00")], "WALLET")
    client = signed_in("approver@r1001.example")
    first = client.get("/wallet").get_data(as_text=True)
    assert len(entries(first)) == 20 and entries(first)[0] == "PAYMENT"
    assert 'href="/wallet?page=2"' in first
    second = client.get("/wallet?page=2").get_data(as_text=True)
    assert len(entries(second)) == 4 and "top-up 1<" in second
    only = client.get("/wallet?type=PAYMENT", headers=HTMX)
    assert only.status_code == 200 and "<html" not in only.get_data(as_text=True)
    assert entries(only.get_data(as_text=True)) == ["PAYMENT"]
    assert "HX-Request" in only.headers["Vary"]
    assert entries(client.get("/wallet?type=BOGUS&page=x").get_data(as_text=True))[0] == "PAYMENT"


def test_credit_shows_limit_used_available_records_and_repayment_orders(ledgers, signed_in):
    a, b = make_order(amount="1000.00"), make_order(amount="250.50")
    pay([(a, "1000.00"), (b, "250.50")], "CREDIT")
    first, second = records("R1001")
    make_overdue(second)
    (repayment,) = repayment_orders(first)
    body = signed_in("operator@r1001.example").get("/credit").get_data(as_text=True)
    assert re.search(r'data-testid="credit-limit">.*?>¥1,000,000.00<', body, re.S)
    assert re.search(r'data-testid="credit-used">.*?>¥1,250.50<', body, re.S)
    assert re.search(r'data-testid="credit-available">.*?>¥998,749.50<', body, re.S)
    assert re.search(r'data-testid="credit-overdue">.*?>¥250.50<', body, re.S)
    assert f'data-record-id="{first}" data-status="OPEN"' in body
    assert f'data-record-id="{second}" data-status="OVERDUE"' in body
    assert f'href="/orders/{repayment}"' in body and f'href="/orders/{a}"' in body
    assert f'data-testid="repayment-order" data-payment-id="{repayment}"' in body
    assert (shanghai_today() + timedelta(days=30)).isoformat() in body  # the due date of the open record
    overdue_only = signed_in("approver@r1001.example").get("/credit?status=OVERDUE", headers=HTMX)
    assert "<html" not in overdue_only.get_data(as_text=True)
    assert re.findall(r'data-record-id="([^"]+)"', overdue_only.get_data(as_text=True)) == [second]


def test_another_reseller_sees_none_of_it(ledgers, signed_in):
    a = make_order(amount="1000.00")
    pay([(a, "1000.00")], "CREDIT")
    (record,) = records("R1001")
    (repayment,) = repayment_orders(record)
    body = signed_in("operator@r1002.example").get("/credit").get_data(as_text=True)
    assert record not in body and repayment not in body and a not in body
    assert 'data-testid="credit-record"' not in body and 'data-testid="repayment-order"' not in body
    assert re.search(r'data-testid="credit-limit">.*?>¥0.00<', body, re.S)


def test_only_reseller_users_open_wallet_and_credit(app, ledgers, signed_in):
    for path in ("/wallet", "/credit"):
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login?next=")
        assert app.test_client().get(path, headers=HTMX).headers["HX-Redirect"].startswith("/login?next=")
        for staff in ("finance@example.com", "admin@example.com"):
            assert signed_in(staff).get(path).status_code == 403


def test_wallet_and_credit_in_chinese_and_english(ledgers, signed_in):
    top_up("R1001", "10.00", "memo")
    client = signed_in("operator@r1001.example")
    zh = client.get("/wallet?lang=zh").get_data(as_text=True)
    assert "余额" in zh and "变动后余额" in zh and "充值" in zh
    en = client.get("/wallet?lang=en").get_data(as_text=True)
    assert "Balance after" in en and "Top-up" in en
    assert "No credit records yet." in client.get("/credit").get_data(as_text=True)
    zh = client.get("/credit?lang=zh").get_data(as_text=True)
    assert "信用额度" in zh and "暂无信用记录" in zh and "还款单" in zh
    for body in (zh, en):
        assert "<script>" not in body and " style=" not in body


@in_app
def confirm_received(voucher_id: int, received: str) -> None:
    from app.services.vouchers import review

    review.confirm(FINANCE, "finance", user_id("finance@example.com"), voucher_id, received)


def test_memos_the_portal_writes_are_shown_in_the_readers_language(app, ledgers, signed_in, tmp_path,
                                                                 monkeypatch):
    """The wallet entry of a wire's excess stores a code and parameters, not English text: the Chinese
    screen shows it in Chinese, the English one in English, both with the wire's reference."""
    add_wire_channel()
    pid = make_order(amount="300.00")
    cp = wire_payment([(pid, "300.00")])
    confirm_received(upload(cp), "350.00")
    client = signed_in("operator@r1001.example")
    zh = client.get("/wallet?lang=zh&type=EXCESS").get_data(as_text=True)
    en = client.get("/wallet?lang=en&type=EXCESS").get_data(as_text=True)
    reference = re.search(r"电汇 (\S+) 多付款转入", zh)
    assert reference is not None and "excess of wire" not in zh.lower()
    assert f"Excess of wire transfer {reference.group(1)}" in en
    assert reference.group(1) == cp.wire_reference and "+¥50.00" in zh
