"""Notifications in the browser: a wallet payment made by the operator tells the approver of the
same company; the approver's header count goes up by itself (HTMX polling, no page reload), the
notification is on /notifications, and marking everything read brings the count to zero."""

from __future__ import annotations

from playwright.sync_api import expect

from .steps import allocate, checkout_orders, submit_checkout
from .support import APPROVER, OPERATOR, shot


def _count(page) -> int:
    return int(page.get_by_test_id("notification-count").get_attribute("data-count") or "-1")


def test_a_payment_result_reaches_the_approvers_header_without_a_reload(browsing, stack):
    approver = browsing.as_user(APPROVER, "/wallet")
    before = _count(approver)
    approver.evaluate("window.__notReloaded = true")  # gone if the page were loaded again

    (order,) = stack.create_orders(["12.34"])
    operator = browsing.as_user(OPERATOR, "/orders")
    checkout_orders(operator, stack, [order])
    allocate(operator, order["paymentId"], "WALLET")
    mp_id = submit_checkout(operator)

    expect(approver.get_by_test_id("notification-count")).to_have_attribute("data-count", str(before + 1))
    assert approver.evaluate("window.__notReloaded === true")
    shot(approver, "notifications-01-count")

    approver.get_by_test_id("notification-count").click()
    item = approver.get_by_test_id("notification-item").first
    expect(item).to_contain_text(mp_id)
    expect(item).to_contain_text("¥12.34")
    shot(approver, "notifications-02-list")
    approver.get_by_test_id("notification-read-all").click()
    expect(approver.get_by_test_id("notification-count")).to_have_attribute("data-count", "0")
    expect(approver.get_by_test_id("notification-item").first).to_have_attribute("data-read", "true")
