"""The admin registers an upstream system (an API client and its webhook endpoint) on /admin/clients,
a reseller's payment settles, and the delivery reaches the system signed with the secret shown once;
while the system is down the delivery log shows the failed attempt with its answer, and after it
recovers the admin replays the delivery from the log (the same webhook-id arrives again, now 200)."""

from __future__ import annotations

import time
import uuid

from playwright.sync_api import Page, expect

from tests.support.webhook_receiver import Reply, started, stop, verify

from . import steps
from .support import ADMIN, OPERATOR, WEBHOOK_HOST, shot

EVENT = "merged_payment.completed"


def _wait(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.3)
    return result


def _register(admin: Page, name: str, url: str) -> str:
    """Create the client and its endpoint for EVENT on the screen; the endpoint's secret, shown once."""
    admin.goto("/admin/clients?lang=en")
    admin.locator("#client-name").fill(name)
    admin.locator('input[name="scopes"][value="webhooks"]').check()
    admin.get_by_test_id("client-create").click()
    expect(admin.get_by_test_id("client-key")).to_be_visible()
    row = admin.locator('[data-testid="client-row"]').filter(has_text=name)
    row.locator("summary").click()
    row.get_by_test_id("endpoint-url").fill(url)
    row.locator(f'input[name="event_types"][value="{EVENT}"]').check()
    row.get_by_test_id("endpoint-create").click()
    expect(admin.get_by_test_id("endpoint-secret")).to_be_visible()
    secret = admin.get_by_test_id("shown-once-value").inner_text().strip()
    assert secret.startswith("whsec_")
    shot(admin, "95-admin-endpoint-registered")
    return secret


def test_a_settled_payment_reaches_the_registered_system_signed_and_a_failed_delivery_is_replayed(browsing, stack):
    receiver = started(WEBHOOK_HOST)
    receiver.reply("/erp", always=Reply(status=503, body=b"ERP down for maintenance"))
    try:
        admin = browsing.as_user(ADMIN)
        name = f"ERP {uuid.uuid4().hex[:6]}"
        secret = _register(admin, name, receiver.url("/erp"))

        (order,) = stack.create_orders(["321.00"], desc="webhook")
        page = browsing.as_user(OPERATOR)
        steps.checkout_orders(page, stack, [order])
        steps.allocate(page, order["paymentId"], "WALLET")
        merged_id = steps.submit_checkout(page)
        steps.expect_payment_status(page, "SUCCEEDED")

        def ours():
            return [r for r in receiver.at("/erp") if verify(secret, r.headers, r.body)["data"].get(
                "mergedPaymentId") == merged_id]

        failed = _wait(ours)[0]  # answered 503
        payload = verify(secret, failed.headers, failed.body)  # signed with the secret shown once
        assert payload["type"] == EVENT

        # The delivery log: the failed attempt with the system's answer.
        admin.goto("/admin/clients?lang=en")
        row = admin.locator('[data-testid="client-row"]').filter(has_text=name)
        row.get_by_test_id("endpoint-deliveries").click()
        delivery = admin.get_by_test_id("delivery-row").first
        expect(delivery).to_have_attribute("data-status", "FAILED")
        expect(admin.get_by_test_id("delivery-attempt").first).to_have_attribute("data-status-code", "503")
        expect(admin.locator("body")).to_contain_text("ERP down for maintenance")
        shot(admin, "96-admin-delivery-failed")

        def same_id():
            return [r for r in ours() if r.headers["webhook-id"] == failed.headers["webhook-id"]]

        receiver.reply("/erp", always=Reply(status=200, body=b"ok"))  # the system is back
        sent_before = len(same_id())
        delivery.get_by_test_id("delivery-replay").click()
        again = _wait(lambda: same_id()[sent_before:])
        assert verify(secret, again[0].headers, again[0].body)["type"] == EVENT
        _wait(lambda: admin.reload() or admin.get_by_test_id("delivery-row").first.get_attribute(
            "data-status") == "SUCCEEDED", timeout=30)
        expect(admin.locator('[data-testid="delivery-attempt"][data-status-code="200"]')).to_have_count(1)
        shot(admin, "97-admin-delivery-replayed")
    finally:
        stop(receiver)
