"""The admin rotates an ONLINE channel's callback secret on /admin/channels and the sandbox gateway
follows through its own configuration (as a merchant console would): during the overlap a callback
still signed with the old secret settles the payment; a rotation without overlap refuses the old
secret at once (the payment waits, unpaid), and once the gateway signs with the secret shown to the
admin, the callback settles it. The overlap's end in time is tests/engine/test_channel_secret_rotation.py."""

from __future__ import annotations

import time
from decimal import Decimal

from playwright.sync_api import Page, expect

from . import steps
from .support import ADMIN, OPERATOR, shot

CODE, MERCHANT = "ONLINE_EBANK", "MCH1002"  # not the first ONLINE channel, which the other tests pay with


def rotate(admin: Page, hours: str) -> str:
    admin.goto(f"/admin/channels/{CODE}?lang=en")
    admin.locator("#overlap_hours").fill(hours)
    admin.get_by_test_id("channel-rotate-secret").click()
    expect(admin.get_by_test_id("channel-secret")).to_be_visible()
    return admin.get_by_test_id("shown-once-value").inner_text().strip()


def pay(page: Page, stack, amount: str) -> tuple[str, str]:
    """Check out one new order on CODE and press Pay at the gateway: (payment id, merged payment id)."""
    (order,) = stack.create_orders([amount], desc="密钥轮换")
    steps.checkout_orders(page, stack, [order])
    steps.alloc_row(page, order["paymentId"]).get_by_test_id("alloc-channel").select_option(CODE)
    merged_id = steps.submit_checkout(page)
    steps.pay_online_at_gateway(page, stack, merged_id, Decimal(amount))
    return order["paymentId"], merged_id


def refused_callbacks(stack) -> set[str]:
    """The gateway transactions whose callbacks the portal refused (400: bad or stale signature)."""
    return {cb["objectId"] for cb in stack.gateway.admin_callbacks()
            if any(d["httpStatus"] == 400 for d in cb["deliveries"])}


def test_the_gateway_follows_a_rotated_callback_secret(browsing, stack):
    admin = browsing.as_user(ADMIN)
    page = browsing.as_user(OPERATOR)

    rotate(admin, "1")
    admin.goto(f"/admin/channels/{CODE}?lang=en")
    expect(admin.get_by_test_id("channel-previous-secret")).to_be_visible()
    pay(page, stack, "234.00")  # the gateway still signs with the old secret: the overlap accepts it
    steps.expect_payment_status(page, "SUCCEEDED")

    current = rotate(admin, "0")  # no overlap: only the new secret verifies from now on
    shot(admin, "98-admin-channel-secret-rotated")
    refused_before = refused_callbacks(stack)
    pay(page, stack, "345.00")
    deadline = time.monotonic() + 60
    while not (refused := refused_callbacks(stack) - refused_before):
        assert time.monotonic() < deadline, "the gateway's callback was never refused"
        time.sleep(0.5)
    page.reload()
    expect(steps.payment_status(page)).not_to_have_attribute("data-status", "SUCCEEDED")

    stack.gateway.set_callback_secret(current, MERCHANT)  # the merchant console follows the rotation
    [txn_id] = refused
    stack.gateway.resend_callback(txn_id)
    page.reload()
    steps.expect_payment_status(page, "SUCCEEDED")
