"""The order list in Chinese (the default) and in English: by the language switch and by ``?lang=en``."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.i18n import merged_catalog

from . import steps
from .support import OPERATOR, shot

ZH = merged_catalog("zh")


def zh(message_id: str) -> str:
    text = ZH.get(message_id)
    assert text is not None and text.string, f"no Chinese for {message_id!r}"
    return text.string


def test_order_list_in_chinese_and_english(browsing, stack):
    (order,) = stack.create_orders(["4321.00"], desc="语言")
    page = browsing.as_user(OPERATOR, f"/orders?orderId={order['orderId']}")  # the filter is in the URL
    row = steps.order_row(page, order["paymentId"])
    expect(page.get_by_test_id("order-row")).to_have_count(1)

    # 简体中文 by default
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text(zh("Payment orders"))
    expect(row).to_contain_text(zh("Unpaid"))
    expect(row).to_contain_text("¥4,321.00")
    shot(page, "60-orders-zh")

    # the switch keeps the page and its filter
    page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"orderId="))
    expect(page.locator("h1")).to_have_text("Payment orders")
    expect(row).to_contain_text("Unpaid")
    expect(row).to_contain_text("¥4,321.00")
    shot(page, "61-orders-en")

    # and back
    page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(row).to_contain_text(zh("Unpaid"))

    # ?lang=en on a deep link, in a session that never chose a language
    other = browsing.as_user(OPERATOR)
    expect(other.locator("html")).to_have_attribute("lang", "zh-CN")
    other.goto(f"/orders?orderId={order['orderId']}&lang=en")
    expect(other.locator("html")).to_have_attribute("lang", "en")
    expect(steps.order_row(other, order["paymentId"])).to_contain_text("Unpaid")
    expect(other.get_by_test_id("order-row")).to_have_count(1)
    # the choice is remembered for the next page
    other.goto("/orders")
    expect(other.locator("html")).to_have_attribute("lang", "en")
    expect(other.locator("h1")).to_have_text("Payment orders")


def test_language_switch_keeps_a_filter_applied_on_the_page(browsing, stack):
    """The header's switch is rendered with the URL the page was loaded with; a filter applied
    afterwards through HTMX (hx-push-url) must go with it (app/static/orders.js)."""
    (order,) = stack.create_orders(["4322.00"], desc="语言")
    page = browsing.as_user(OPERATOR)
    steps.filter_orders(page, [order["orderId"]])
    expect(page.get_by_test_id("order-row")).to_have_count(1)
    page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"orderId="))
    expect(page.get_by_test_id("order-row")).to_have_count(1)
