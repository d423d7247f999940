"""The admin switches a channel off on /admin/channels and the reseller's checkout no longer offers
it; switched on again, it is offered again (the channel is left as the demo seed made it)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .support import ADMIN, OPERATOR, shot

CODE = "ONLINE_EBANK"  # open to every reseller; not the first ONLINE channel the other tests pick


def offered(page: Page, payment_id: str) -> list[str]:
    page.goto(f"/checkout?ids={payment_id}&lang=en")
    select = page.get_by_test_id("alloc-row").first.get_by_test_id("alloc-channel")
    expect(select).to_be_visible()
    return [o.get_attribute("value") or "" for o in select.locator("option").all()]


def set_enabled(admin: Page, enabled: bool) -> None:
    admin.goto("/admin/channels?lang=en")
    row = admin.locator(f'[data-testid="channel-row"][data-channel-code="{CODE}"]')
    row.get_by_role("link").first.click()
    checkbox = admin.get_by_test_id("channel-enabled")
    checkbox.set_checked(enabled)
    admin.get_by_test_id("channel-save").click()
    expect(admin.get_by_test_id("flash").first).to_contain_text(f"The channel {CODE} is saved.")
    expect(admin.locator(f'[data-testid="channel-row"][data-channel-code="{CODE}"]')).to_have_attribute(
        "data-enabled", "true" if enabled else "false")


def test_a_channel_the_admin_disables_is_not_offered_at_checkout(browsing, stack):
    (order,) = stack.create_orders(["1200.00"], desc="停用渠道")
    operator = browsing.as_user(OPERATOR)
    assert CODE in offered(operator, order["paymentId"])

    admin = browsing.as_user(ADMIN)
    try:
        set_enabled(admin, False)
        shot(admin, "90-admin-channel-disabled")
        choices = offered(operator, order["paymentId"])
        assert CODE not in choices and "WALLET" in choices
        expect(operator.locator(f'[data-testid="channel-hint"][data-channel="{CODE}"]')).to_have_count(0)
        shot(operator, "91-checkout-without-disabled-channel")
    finally:
        set_enabled(admin, True)
    assert CODE in offered(operator, order["paymentId"])
