"""Finance wallets in the browser: a finance user tops up R1001's wallet with a deposit and the reseller
sees the entry and pays from it; an adjustment above the approval threshold (¥1,000,000.00, demo seed)
waits for the second finance user, who approves it; an adjustment that would make the wallet negative
is refused at once with the error next to the field."""

from __future__ import annotations

import uuid
from decimal import Decimal

from playwright.sync_api import Page, expect

from . import steps
from .support import FINANCE, FINANCE2, OPERATOR, money, shot


def _open_wallet(page: Page, code: str = "R1001"):
    page.goto("/finance/wallets")
    row = page.get_by_test_id("wallet-reseller-row").filter(has_text=code)
    row.get_by_role("link", name=code).click()
    return page.get_by_test_id("wallet-reseller-row")


def test_a_top_up_reaches_the_reseller_who_pays_from_it(browsing, stack):
    before = stack.wallet_balance()
    serial = f"ICBC{uuid.uuid4().hex[:10].upper()}"
    desk = browsing.as_user(FINANCE)
    _open_wallet(desk)
    desk.get_by_test_id("wallet-topup-amount").fill("1234.56")
    desk.get_by_test_id("wallet-topup-serial").fill(serial)
    desk.get_by_test_id("wallet-topup-submit").click()
    expect(desk.get_by_test_id("wallet-balance")).to_have_attribute("data-amount", f"{before + Decimal('1234.56'):.2f}")
    shot(desk, "70-finance-wallet-topped-up")
    # the same serial again: refused next to the field, the balance does not move
    desk.get_by_test_id("wallet-topup-amount").fill("1.00")
    desk.get_by_test_id("wallet-topup-serial").fill(serial)
    desk.get_by_test_id("wallet-topup-submit").click()
    expect(desk.locator(".field.has-error").filter(has=desk.get_by_test_id("wallet-topup-serial"))).to_be_visible()
    assert stack.wallet_balance() == before + Decimal("1234.56")

    page = browsing.as_user(OPERATOR, "/wallet")
    expect(page.get_by_test_id("wallet-entry").filter(has_text=serial)).to_have_count(1)
    (order,) = stack.create_orders(["1234.56"], desc="钱包")
    steps.checkout_orders(page, stack, [order])
    steps.allocate(page, order["paymentId"], "WALLET")
    steps.expect_no_alloc_errors(page)
    steps.submit_checkout(page)
    steps.expect_payment_status(page, "SUCCEEDED")
    assert stack.wallet_balance() == before


def test_an_adjustment_above_the_threshold_waits_for_the_second_finance_user(browsing, stack):
    before = stack.wallet_balance()
    desk = browsing.as_user(FINANCE)
    _open_wallet(desk)
    # below zero: refused at once, whatever the threshold
    desk.get_by_test_id("wallet-adjust-amount").fill(f"-{before + Decimal('1000000.00'):.2f}")
    desk.get_by_test_id("wallet-adjust-reason").fill("误操作")
    desk.get_by_test_id("wallet-adjust-submit").click()
    expect(desk.locator(".field.has-error").filter(has=desk.get_by_test_id("wallet-adjust-amount"))).to_be_visible()
    desk.get_by_test_id("wallet-adjust-amount").fill("1000000.01")
    desk.get_by_test_id("wallet-adjust-reason").fill("补记大额存款")
    desk.get_by_test_id("wallet-adjust-submit").click()
    expect(desk.get_by_test_id("flash")).to_be_visible()
    assert stack.wallet_balance() == before
    expect(desk.get_by_test_id("wallet-change-approve")).to_have_count(0)  # never the one who asked

    second = browsing.as_user(FINANCE2)
    _open_wallet(second)
    second.get_by_test_id("wallet-change-row").filter(has_text="补记大额存款").get_by_test_id(
        "wallet-change-approve").click()
    expect(second.get_by_test_id("wallet-balance")).to_have_attribute(
        "data-amount", f"{before + Decimal('1000000.01'):.2f}")
    expect(second.get_by_test_id("wallet-reseller-row")).to_contain_text(money(before + Decimal("1000000.01")))
    shot(second, "71-finance-wallet-approved")
    assert stack.wallet_balance() == before + Decimal("1000000.01")
