"""The finance dashboard's today figures move after a payment settles: finance reads /finance, the
reseller pays an order ONLINE at the sandbox gateway (its signed callback settles the payment), and
/finance then shows the amount more received today, on the ONLINE channel's row too, with a callback
delay measured; /finance/transactions finds it by the bank's transaction id and shows its chain
with the gateway's callback."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from . import steps
from .support import FINANCE, OPERATOR, money, shot


def _amount(text: str) -> Decimal:
    return Decimal(text.strip().replace("¥", "").replace(",", ""))


def _today(page: Page) -> tuple[Decimal, Decimal]:
    """(received today, received today on the ONLINE channels)."""
    page.goto("/finance?lang=en")
    received = _amount(page.get_by_test_id("desk-today-received").inner_text())
    rows = page.get_by_test_id("desk-today-channel-row")
    online = sum((_amount(rows.nth(i).locator("td").nth(1).inner_text()) for i in range(rows.count())
                  if rows.nth(i).get_attribute("data-key", timeout=1000).startswith("ONLINE")), Decimal("0.00"))
    return received, online


def test_today_figures_move_after_a_payment_settles(browsing, stack):
    (order,) = stack.create_orders(["4321.09"], desc="看板")
    amount = Decimal(order["paymentAmount"])
    desk = browsing.as_user(FINANCE)
    received_before, online_before = _today(desk)
    shot(desk, "70-finance-desk-before")

    page = browsing.as_user(OPERATOR)
    steps.checkout_orders(page, stack, [order])
    steps.allocate(page, order["paymentId"], "ONLINE")
    merged_id = steps.submit_checkout(page)
    steps.pay_online_at_gateway(page, stack, merged_id, amount)
    steps.expect_payment_status(page, "SUCCEEDED")  # the gateway's callback settled it

    desk.goto("/finance?lang=en")
    expect(desk.get_by_test_id("desk-today-received")).to_have_text(money(received_before + amount))
    received_after, online_after = _today(desk)
    assert (received_after - received_before, online_after - online_before) == (amount, amount)
    expect(desk.get_by_test_id("desk-delay-today")).to_contain_text("p95")
    expect(desk.get_by_test_id("desk-trend-chart")).to_be_visible()
    shot(desk, "71-finance-desk-after")

    # The payment on /finance/transactions, found by the bank's transaction id, and its chain with the callback.
    (txn,) = [t for t in stack.transactions(order["paymentId"]) if t["transactionStatus"] == "SUCCESS"]
    desk.goto(f"/finance/transactions?reference={txn['channelTransactionId']}&lang=en")
    expect(desk.get_by_test_id("txn-row")).to_have_count(1)
    expect(desk.get_by_test_id("txn-received")).to_have_text(money(amount))
    desk.get_by_test_id("txn-row").get_by_role("link").click()
    expect(desk.get_by_test_id("chain-callback").first).to_be_visible()
    expect(desk.get_by_test_id("chain-merged")).to_contain_text(merged_id)
    shot(desk, "72-finance-transaction-chain")
