"""/finance/wallets through the test client with CSRF on: the balances and a reseller's ledger, top-ups
and adjustments (good and bad input, each error next to its field in zh and en, nothing stored), the
bank serial used once, maker-checker above the approval threshold, and the entry the reseller reads on
/wallet in their language."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, OutboxEvent, Reseller, WalletChange, WalletEntry
from tests.support.screen_setup import count, in_app, pending_wallet_top_up, post, reseller_pk, wallet_of
from tests.support.web import csrf_token


@pytest.fixture
def desk(portal, signed_in):
    client = signed_in("finance@example.com")
    return client, csrf_token(client, "/finance/wallets")


@in_app
def _set_threshold(code: str, amount: str) -> None:
    db.session.execute(sa.update(Reseller).where(Reseller.code == code).values(approval_threshold=Decimal(amount)))
    db.session.commit()


def _stored() -> tuple:
    return (wallet_of("R1001"), wallet_of("R1002"), count(WalletEntry), count(WalletChange), count(AuditEntry),
            count(OutboxEvent))


def _field_error(body: str, testid: str) -> str:
    """The error shown in the field that carries ``testid``."""
    match = re.search(rf'data-testid="{testid}".*?</div>', body, re.S)
    assert match, f"no field {testid}"
    errors = re.findall(r'class="field-error"[^>]*>([^<]*)<', match.group(0))
    return " ".join(errors)


def test_index_lists_every_reseller_with_its_balance(desk):
    client, _ = desk
    body = client.get("/finance/wallets?lang=en").get_data(as_text=True)
    rows = re.findall(r'data-testid="wallet-reseller-row" data-reseller-id="(\d+)"', body)
    assert rows == [str(reseller_pk("R1001")), str(reseller_pk("R1002"))]
    balances = re.findall(r'data-testid="wallet-balance" data-amount="([^"]+)"', body)
    assert balances == ["500000.00", "1000.00"]


def test_a_top_up_books_once_and_the_reseller_reads_it_in_their_language(desk, signed_in):
    client, token = desk
    rid = reseller_pk("R1002")
    response = post(client, f"/finance/wallets/{rid}/top-up?lang=en",
                    {"amount": "1,250.50", "bankSerial": "ICBC20261203001", "memo": "December deposit"}, token)
    assert response.status_code == 302
    page = client.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "booked to the wallet" in page and 'data-amount="2250.50"' in page
    assert wallet_of("R1002") == Decimal("2250.50")
    reseller = signed_in("operator@r1002.example")
    en = reseller.get("/wallet?lang=en").get_data(as_text=True)
    assert "Deposit received (bank serial ICBC20261203001) December deposit" in en
    zh = reseller.get("/wallet?lang=zh").get_data(as_text=True)
    assert "收到存款（银行流水号 ICBC20261203001）December deposit" in zh
    # the same serial again for the same reseller: refused next to the serial field, nothing stored
    before = _stored()
    for lang, text in (("zh", "此银行流水号已用于该经销商的充值"), ("en", "already used for a top-up")):
        response = post(client, f"/finance/wallets/{rid}/top-up", {"amount": "10.00", "bankSerial": "ICBC20261203001"},
                        token, lang=lang)
        assert response.status_code == 409
        assert text in _field_error(response.get_data(as_text=True), "wallet-topup-serial")
    assert _stored() == before


@pytest.mark.parametrize("amount, serial, testid, zh, en", [
    ("1.005", "S1", "wallet-topup-amount", "最多两位小数", "at most two decimals"),
    ("-5.00", "S1", "wallet-topup-amount", "金额必须大于 0", "greater than 0"),
    ("0", "S1", "wallet-topup-amount", "金额必须大于 0", "greater than 0"),
    ("100000000000.00", "S1", "wallet-topup-amount", "金额过大", "too large"),
    ("", "S1", "wallet-topup-amount", "请输入金额", "Enter the amount"),
    ("10.00", "", "wallet-topup-serial", "请填写这笔存款的银行流水号", "bank serial number of the deposit"),
])
def test_a_bad_top_up_shows_the_error_next_to_the_field_and_stores_nothing(desk, amount, serial, testid, zh, en):
    client, token = desk
    rid = reseller_pk("R1001")
    before = _stored()
    for lang, text in (("zh", zh), ("en", en)):
        response = post(client, f"/finance/wallets/{rid}/top-up", {"amount": amount, "bankSerial": serial}, token,
                        lang=lang)
        assert response.status_code == 422
        assert text in _field_error(response.get_data(as_text=True), testid), lang
    assert _stored() == before


@pytest.mark.parametrize("amount, reason, testid, zh, en", [
    ("-1.005", "typo", "wallet-adjust-amount", "最多两位小数", "at most two decimals"),
    ("0.00", "typo", "wallet-adjust-amount", "金额不能为 0", "must not be 0"),
    ("-100000000000.00", "typo", "wallet-adjust-amount", "金额过大", "too large"),
    ("-1000.01", "typo", "wallet-adjust-amount", "此变动会使余额为负", "would make it negative"),
    ("-5000000.00", "typo", "wallet-adjust-amount", "此变动会使余额为负", "would make it negative"),  # above threshold
    ("-10.00", "", "wallet-adjust-reason", "请填写调整原因", "Give the reason for the adjustment"),
])
def test_a_bad_adjustment_shows_the_error_next_to_the_field_and_stores_nothing(desk, amount, reason, testid, zh, en):
    client, token = desk
    rid = reseller_pk("R1002")  # holds 1,000.00
    before = _stored()
    for lang, text in (("zh", zh), ("en", en)):
        response = post(client, f"/finance/wallets/{rid}/adjust", {"amount": amount, "reason": reason}, token,
                        lang=lang)
        assert response.status_code in (409, 422)
        assert text in _field_error(response.get_data(as_text=True), testid), lang
    assert _stored() == before


def test_an_adjustment_down_to_zero_is_booked_with_its_reason(desk, signed_in):
    client, token = desk
    rid = reseller_pk("R1002")
    response = post(client, f"/finance/wallets/{rid}/adjust", {"amount": "-1000.00", "reason": "重复入账冲正"}, token)
    assert response.status_code == 302 and wallet_of("R1002") == Decimal("0.00")
    zh = signed_in("operator@r1002.example").get("/wallet?lang=zh").get_data(as_text=True)
    assert "财务调整：重复入账冲正" in zh


def test_above_the_threshold_a_second_finance_user_approves_and_the_balance_moves_once(desk, signed_in):
    client, token = desk
    _set_threshold("R1001", "100.00")
    rid = reseller_pk("R1001")
    response = post(client, f"/finance/wallets/{rid}/top-up?lang=en", {"amount": "100.01", "bankSerial": "B-9"},
                    token)
    assert response.status_code == 302 and wallet_of("R1001") == Decimal("500000.00")
    page = client.get(f"/finance/wallets/{rid}?lang=en").get_data(as_text=True)
    assert "waits for a second finance user" in page and 'data-testid="wallet-change-approve"' not in page
    change_id = int(re.search(r'data-testid="wallet-change-row" data-change-id="(\d+)"', page).group(1))
    before = _stored()
    # the one who asked cannot decide
    for action, data in (("approve", {}), ("reject", {"reason": "no"})):
        response = post(client, f"/finance/wallets/changes/{change_id}/{action}?lang=zh", data, token)
        assert response.status_code == 403 and "须由另一位财务人员审批或驳回" in response.get_data(as_text=True)
    assert _stored() == before
    second = signed_in("finance2@example.com")
    second_token = csrf_token(second, "/finance/wallets")
    assert 'data-testid="wallet-change-approve"' in second.get("/finance/wallets").get_data(as_text=True)
    response = post(second, f"/finance/wallets/changes/{change_id}/approve", {}, second_token)
    assert response.status_code == 302 and wallet_of("R1001") == Decimal("500100.01")
    response = post(second, f"/finance/wallets/changes/{change_id}/approve?lang=en", {}, second_token)
    assert response.status_code == 409 and "already decided" in response.get_data(as_text=True)
    assert wallet_of("R1001") == Decimal("500100.01")


def test_a_second_user_rejects_with_a_reason_and_nothing_moves(desk, signed_in):
    change_id = pending_wallet_top_up("R1002")  # asked by finance2@
    client, token = desk
    before = _stored()
    response = post(client, f"/finance/wallets/changes/{change_id}/reject?lang=en", {"reason": ""}, token)
    assert response.status_code == 422 and "Give the reason for rejecting" in response.get_data(as_text=True)
    assert _stored() == before
    response = post(client, f"/finance/wallets/changes/{change_id}/reject", {"reason": "not on the statement"}, token)
    assert response.status_code == 302 and wallet_of("R1002") == Decimal("1000.00")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "not on the statement" in page


def test_an_unknown_reseller_or_change_is_404(desk):
    client, token = desk
    assert client.get("/finance/wallets/999999").status_code == 404
    assert post(client, "/finance/wallets/999999/top-up", {"amount": "1.00", "bankSerial": "x"},
                token).status_code == 404
    assert post(client, "/finance/wallets/changes/999999/approve", {}, token).status_code == 404
