"""One order paid with the enterprise wallet, one with the credit line, and one above the company's
approval threshold that waits for the reseller's approver (a second person) before it starts."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from . import steps
from .support import APPROVER, OPERATOR, money, shot


def test_wallet_payment(browsing, stack):
    (order,) = stack.create_orders(["18888.00"], desc="钱包支付")
    amount = Decimal(order["paymentAmount"])
    before = stack.wallet_balance()

    page = browsing.as_user(OPERATOR)
    steps.checkout_orders(page, stack, [order])
    steps.allocate(page, order["paymentId"], "WALLET")
    steps.expect_checkout_total(page, amount)
    steps.expect_no_alloc_errors(page)
    shot(page, "30-checkout-wallet")
    steps.submit_checkout(page)
    steps.expect_payment_status(page, "SUCCEEDED")  # the wallet pays inside the checkout
    expect(steps.next_step(page, "WALLET")).to_be_visible()
    shot(page, "31-payment-wallet-succeeded")

    page.goto(f"/orders/{order['paymentId']}")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    page.goto("/wallet")
    expect(steps.by_testid(page, "wallet-entry", type="PAYMENT").filter(has_text=money(amount)).first).to_be_visible()
    expect(page.get_by_test_id("wallet-balance")).to_contain_text(money(before - amount))
    shot(page, "32-wallet-ledger")
    assert stack.wallet_balance() == before - amount


def test_credit_payment(browsing, stack):
    (order,) = stack.create_orders(["66000.00"], payment_type="FINAL_PAYMENT", desc="信用支付")
    amount = Decimal(order["paymentAmount"])
    available = stack.credit_available()

    page = browsing.as_user(OPERATOR)
    steps.checkout_orders(page, stack, [order])
    steps.allocate(page, order["paymentId"], "CREDIT")
    steps.expect_checkout_total(page, amount)
    steps.expect_no_alloc_errors(page)
    steps.submit_checkout(page)
    steps.expect_payment_status(page, "SUCCEEDED")  # the credit line books at once
    shot(page, "33-payment-credit-succeeded")

    page.goto(f"/orders/{order['paymentId']}")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    page.goto("/credit")
    record = page.get_by_test_id("credit-record").filter(has_text=order["orderId"])  # one record per order
    expect(record).to_have_count(1)
    expect(record).to_have_attribute("data-status", "OPEN")
    expect(record).to_contain_text(money(amount))
    expect(page.get_by_test_id("credit-available")).to_contain_text(money(available - amount))
    shot(page, "34-credit")
    records = stack.credit_records(order["orderId"])
    assert [Decimal(r["amount"]) for r in records] == [amount]
    assert stack.credit_available() == available - amount


def test_payment_above_threshold_is_approved_by_the_approver(browsing, stack):
    # R1001's approval threshold is ¥1,000,000.00 (demo seed)
    (order,) = stack.create_orders(["1250000.00"], desc="大额审批")
    amount = Decimal(order["paymentAmount"])

    page = browsing.as_user(OPERATOR)
    steps.checkout_orders(page, stack, [order])
    steps.allocate(page, order["paymentId"], "ONLINE")
    steps.expect_checkout_total(page, amount)
    steps.expect_no_alloc_errors(page)
    merged_id = steps.submit_checkout(page)
    steps.expect_payment_status(page, "PENDING_APPROVAL")
    expect(steps.next_step(page, "ONLINE").locator(f'a[href^="{stack.gateway.base_url}"]')).to_have_count(0)
    shot(page, "40-payment-pending-approval")
    # the operator is not an approver
    assert page.request.get("/approvals", max_redirects=0).status == 403

    approver = browsing.as_user(APPROVER, "/approvals")
    item = steps.by_testid(approver, "approval-row", merged_payment_id=merged_id)
    expect(item).to_be_visible()
    expect(item).to_contain_text(money(amount))
    shot(approver, "41-approvals")
    item.get_by_test_id("approve").click()
    expect(steps.by_testid(approver, "approval-row", merged_payment_id=merged_id)).to_have_count(0)
    expect(approver.get_by_test_id("flash").first).to_contain_text(merged_id)

    page.reload()
    steps.expect_payment_status(page, "PROCESSING")
    steps.pay_online_at_gateway(page, stack, merged_id, amount)
    steps.expect_payment_status(page, "SUCCEEDED")
    shot(page, "42-payment-approved-paid")
    page.goto(f"/orders/{order['paymentId']}")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
