"""Wire vouchers: finance rejects one with a reason the reseller then sees; an executable renamed
``.pdf`` is refused at upload with the error next to the field, and nothing reaches finance."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from playwright.sync_api import expect

from . import steps
from .support import FINANCE, OPERATOR, fake_executable, money, shot

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _wire_checkout(browsing, stack, amount: str):
    (order,) = stack.create_orders([amount], desc="电汇")
    page = browsing.as_user(OPERATOR)
    steps.checkout_orders(page, stack, [order])
    steps.allocate(page, order["paymentId"], "WIRE")
    steps.expect_checkout_total(page, Decimal(amount))
    steps.expect_no_alloc_errors(page)
    merged_id = steps.submit_checkout(page)
    steps.expect_payment_status(page, "PROCESSING")
    return page, order, merged_id


def test_rejected_voucher_reason_is_shown_to_the_reseller(browsing, stack):
    page, order, merged_id = _wire_checkout(browsing, stack, "52000.00")
    reference = steps.wire_reference(page)
    expect(steps.next_step(page, "WIRE").get_by_test_id("wire-amount")).to_contain_text(money("52000.00"))
    steps.upload_voucher(page)
    expect(steps.next_step(page, "WIRE").get_by_test_id("voucher-file")).to_have_count(0)

    reason = f"银行流水中未找到该笔汇款，请核对后重新上传（{uuid.uuid4().hex[:6]}）"
    desk = browsing.as_user(FINANCE)
    row = steps.open_voucher(desk, reference)
    row.get_by_test_id("voucher-reject-reason").fill(reason)
    row.get_by_test_id("voucher-reject").click()
    expect(steps.voucher_row(desk, reference)).to_have_attribute("data-status", "REJECTED")
    shot(desk, "50-finance-voucher-rejected")

    page.reload()
    wire = steps.next_step(page, "WIRE")
    expect(wire.get_by_test_id("voucher-rejected")).to_contain_text(reason)
    # the transfer stays open: a new voucher can be uploaded, nothing was paid
    expect(wire.get_by_test_id("voucher-file")).to_be_visible()
    steps.expect_payment_status(page, "PROCESSING")
    shot(page, "51-payment-voucher-rejected")
    assert stack.order(order["paymentId"])["paidAmount"] == "0.00"


def test_executable_renamed_pdf_is_refused(browsing, stack):
    page, order, merged_id = _wire_checkout(browsing, stack, "7300.00")
    reference = steps.wire_reference(page)
    steps.upload_voucher(page, fake_executable(), name="voucher.pdf", mime="application/pdf")

    wire = steps.next_step(page, "WIRE")
    error = wire.get_by_test_id("voucher-error")
    expect(error).to_be_visible()
    expect(error).to_have_text(CHINESE)  # in the person's language (简体中文 by default)
    expect(wire.get_by_test_id("voucher-file")).to_be_visible()  # still waiting for a real voucher
    steps.expect_payment_status(page, "PROCESSING")
    shot(page, "52-voucher-refused")

    desk = browsing.as_user(FINANCE, "/finance/vouchers")
    expect(steps.voucher_row(desk, reference)).to_have_count(0)
