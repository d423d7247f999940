"""What a person does on the screens, step by step, through the data-testid hooks of docs/SCREENS.md.

Codes are read from ``data-*`` attributes (``data-status``, ``data-kind``, ``data-reference``), never
from the words on the screen, so the steps work in both languages."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import Locator, Page, expect

from tests.support.files import minimal_pdf

from .support import Stack, money, plain

PAYMENT_URL = re.compile(r"/payments/([A-Za-z0-9_-]+)(?:[?#].*)?$")


def by_testid(scope: Page | Locator, testid: str, **attrs: str) -> Locator:
    """``[data-testid=testid][data-<k>="v"]...`` (underscores in keys become dashes)."""
    selector = f'[data-testid="{testid}"]' + "".join(
        f'[data-{k.replace("_", "-")}="{v}"]' for k, v in attrs.items())
    return scope.locator(selector)


# ---------------------------------------------------------------------------------------------- orders

def filter_orders(page: Page, order_ids: list[str], path: str = "/orders") -> None:
    """Open the order list and filter it by these order ids (the ``orderId`` field takes several)."""
    page.goto(path)
    form = page.get_by_test_id("order-filter-form")
    field = form.locator('[name="orderId"]')
    field.fill(" ".join(order_ids))
    field.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]orderId="))


def order_row(page: Page, payment_id: str) -> Locator:
    return by_testid(page, "order-row", payment_id=payment_id)


def expect_only_rows(page: Page, payment_ids: list[str]) -> None:
    for pid in payment_ids:
        expect(order_row(page, pid)).to_be_visible()
    expect(page.get_by_test_id("order-row")).to_have_count(len(payment_ids))


def select_orders(page: Page, payment_ids: list[str], expected_total: Decimal) -> None:
    for pid in payment_ids:
        order_row(page, pid).get_by_test_id("order-select").check()
    expect(page.get_by_test_id("selected-total")).to_have_text(re.compile(re.escape(money(expected_total))))


def go_to_checkout(page: Page, payment_ids: list[str]) -> None:
    page.get_by_test_id("checkout-button").click()
    expect(page).to_have_url(re.compile(r"/checkout"))
    for pid in payment_ids:
        expect(alloc_row(page, pid)).to_be_visible()
    expect(page.get_by_test_id("alloc-row")).to_have_count(len(payment_ids))


def checkout_orders(page: Page, stack: Stack, orders: list[dict]) -> None:
    """From the order list: filter by these orders, select them all, go to the checkout."""
    ids = [o["paymentId"] for o in orders]
    filter_orders(page, [o["orderId"] for o in orders])
    expect_only_rows(page, ids)
    select_orders(page, ids, sum((Decimal(o["payableAmount"]) for o in orders), Decimal("0")))
    go_to_checkout(page, ids)


# ---------------------------------------------------------------------------------------------- checkout

def alloc_row(page: Page, payment_id: str) -> Locator:
    return by_testid(page, "alloc-row", payment_id=payment_id)


def channel_of_kind(row: Locator, kind: str) -> str:
    """The code of the first channel of this kind offered in the row's ``alloc-channel``."""
    option = row.get_by_test_id("alloc-channel").locator(f'option[data-kind="{kind}"]').first
    expect(option).to_be_attached()
    value = option.get_attribute("value")
    assert value, f"the {kind} option has no value"
    return value


def allocate(page: Page, payment_id: str, kind: str, amount: Decimal | str | None = None) -> str:
    """Pick the first channel of ``kind`` for this order's row and, if given, type the amount.
    Returns the channel code."""
    row = alloc_row(page, payment_id)
    code = channel_of_kind(row, kind)
    row.get_by_test_id("alloc-channel").select_option(code)
    if amount is not None:
        row.get_by_test_id("alloc-amount").fill(plain(amount))
    return code


def expect_checkout_total(page: Page, total: Decimal) -> None:
    expect(page.get_by_test_id("checkout-total")).to_contain_text(money(total))


def expect_no_alloc_errors(page: Page) -> None:
    expect(page.get_by_test_id("alloc-error").filter(has_text=re.compile(r"\S"))).to_have_count(0)


def submit_checkout(page: Page) -> str:
    """Submit the checkout; returns the merged payment id of the page it leads to."""
    page.get_by_test_id("checkout-submit").click()
    expect(page).to_have_url(PAYMENT_URL)
    return PAYMENT_URL.search(page.url).group(1)


# ---------------------------------------------------------------------------------------------- payment

def payment_status(page: Page) -> Locator:
    return page.get_by_test_id("payment-status")


def expect_payment_status(page: Page, status: str) -> None:
    expect(payment_status(page)).to_have_attribute("data-status", status)


def next_step(page: Page, kind: str) -> Locator:
    return by_testid(page, "channel-next-step", channel_kind=kind)


def pay_online_at_gateway(page: Page, stack: Stack, merged_id: str, amount: Decimal) -> None:
    """Follow the ONLINE step's link to the sandbox gateway (it appears once the worker has asked the
    bank), check the amount, press Pay and come back to the payment page."""
    link = next_step(page, "ONLINE").locator(f'a[href^="{stack.gateway.base_url}"]')
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(re.compile("^" + re.escape(stack.gateway.base_url) + "/pay/"))
    expect(page.get_by_test_id("gateway-amount")).to_have_attribute("data-amount", plain(amount))
    page.get_by_test_id("gateway-pay").click()
    expect(page).to_have_url(re.compile(re.escape(stack.base_url) + f"/payments/{merged_id}(?:[?#].*)?$"))


def wire_reference(page: Page) -> str:
    ref = next_step(page, "WIRE").get_by_test_id("wire-reference")
    expect(ref).to_have_text(re.compile(r"\S"))
    return ref.inner_text().strip()


def upload_voucher(page: Page, data: bytes | None = None, name: str = "voucher.pdf",
                   mime: str = "application/pdf") -> None:
    step = next_step(page, "WIRE")
    step.get_by_test_id("voucher-file").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data if data is not None else minimal_pdf()}])
    step.get_by_test_id("voucher-submit").click()


# ---------------------------------------------------------------------------------------------- finance

def voucher_row(page: Page, reference: str) -> Locator:
    return by_testid(page, "voucher-row", reference=reference)


def open_voucher(page: Page, reference: str) -> Locator:
    page.goto("/finance/vouchers")
    row = voucher_row(page, reference)
    expect(row).to_be_visible()
    return row
