"""The main flow of issue 4: three orders, paid in one merged payment across ONLINE and WIRE, the
bank page, a voucher, finance confirming more than expected, and what the reseller sees after."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from . import steps
from .support import FINANCE, OPERATOR, money, plain, shot


def test_merged_online_and_wire_payment_with_overpaid_voucher(browsing, stack):
    a, b, c = stack.create_orders(["300000.00", "85000.00", "260000.00"], desc="主流程")
    part_a = Decimal("120000.00")  # a part of A; the whole of B and C
    online_total = part_a + Decimal(b["paymentAmount"])
    wire_total = Decimal(c["paymentAmount"])
    excess = Decimal("1234.56")
    ids = [a["paymentId"], b["paymentId"], c["paymentId"]]
    wallet_before = stack.wallet_balance()

    # -- the reseller operator: sign in, filter, select three orders
    page = browsing.as_user(OPERATOR)
    steps.filter_orders(page, [a["orderId"], b["orderId"], c["orderId"]])
    steps.expect_only_rows(page, ids)
    for pid in ids:
        expect(steps.order_row(page, pid)).to_have_attribute("data-status", "UNPAID")
    steps.select_orders(page, ids, Decimal("645000.00"))
    shot(page, "10-orders-filtered-selected")

    # -- checkout: a part of A and the whole of B online, the whole of C by wire
    steps.go_to_checkout(page, ids)
    for pid in ids:  # each row starts at the order's payable amount
        expect(steps.alloc_row(page, pid).get_by_test_id("alloc-amount")).to_have_value(
            plain(stack.order(pid)["payableAmount"]))
    steps.allocate(page, a["paymentId"], "ONLINE", part_a)
    steps.allocate(page, b["paymentId"], "ONLINE")
    steps.allocate(page, c["paymentId"], "WIRE")
    steps.expect_checkout_total(page, online_total + wire_total)
    steps.expect_no_alloc_errors(page)
    shot(page, "11-checkout")
    merged_id = steps.submit_checkout(page)
    steps.expect_payment_status(page, "PROCESSING")
    shot(page, "12-payment-processing")

    # -- the bank page for the ONLINE part, then back on the payment page
    steps.pay_online_at_gateway(page, stack, merged_id, online_total)
    shot(page, "13-payment-after-bank")

    # -- the WIRE part: the reference and amount to transfer, then the voucher
    reference = steps.wire_reference(page)
    expect(steps.next_step(page, "WIRE").get_by_test_id("wire-amount")).to_contain_text(money(wire_total))
    steps.upload_voucher(page)
    expect(steps.next_step(page, "WIRE").get_by_test_id("voucher-file")).to_have_count(0)
    shot(page, "14-payment-voucher-uploaded")
    steps.expect_payment_status(page, "PROCESSING")  # until finance confirms the transfer

    # -- finance: the voucher in the queue, found by the reference the reseller was shown
    desk = browsing.as_user(FINANCE)
    row = steps.open_voucher(desk, reference)
    expect(row.get_by_test_id("voucher-expected")).to_contain_text(money(wire_total))
    shot(desk, "20-finance-vouchers")
    row.get_by_test_id("voucher-received-amount").fill(plain(wire_total + excess))
    row.get_by_test_id("voucher-confirm").click()
    expect(steps.voucher_row(desk, reference)).to_have_attribute("data-status", "CONFIRMED")
    shot(desk, "21-finance-voucher-confirmed")

    # -- the reseller: the payment settles by itself (polling), the orders, the wallet, the timeline
    steps.expect_payment_status(page, "SUCCEEDED")
    shot(page, "15-payment-succeeded")
    steps.filter_orders(page, [a["orderId"], b["orderId"], c["orderId"]])
    expect(steps.order_row(page, a["paymentId"])).to_have_attribute("data-status", "PARTIAL_PAID")
    expect(steps.order_row(page, b["paymentId"])).to_have_attribute("data-status", "PAID")
    expect(steps.order_row(page, c["paymentId"])).to_have_attribute("data-status", "PAID")
    shot(page, "16-orders-paid")

    page.goto("/wallet")
    expect(steps.by_testid(page, "wallet-entry", type="EXCESS").filter(has_text=money(excess))).to_have_count(1)
    expect(page.get_by_test_id("wallet-balance")).to_contain_text(money(wallet_before + excess))
    shot(page, "17-wallet-excess")

    page.goto(f"/orders/{c['paymentId']}")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    timeline = page.get_by_test_id("status-timeline")
    expect(steps.by_testid(timeline, "timeline-entry", to_status="PAYING")).to_have_count(1)
    expect(steps.by_testid(timeline, "timeline-entry", to_status="PAID")).to_have_count(1)
    shot(page, "18-order-detail-timeline")
    page.goto(f"/orders/{a['paymentId']}")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "PARTIAL_PAID")
    expect(steps.by_testid(page.get_by_test_id("status-timeline"), "timeline-entry",
                           to_status="PARTIAL_PAID")).to_have_count(1)

    page.goto("/payments")  # the history, newest first
    expect(steps.by_testid(page, "payment-row", merged_payment_id=merged_id)).to_have_attribute(
        "data-status", "SUCCEEDED")
    shot(page, "19-payments-history")

    # the engine agrees: amounts as allocated, the excess in the wallet, nothing left in flight
    assert Decimal(stack.order(a["paymentId"])["paidAmount"]) == part_a
    assert stack.order(b["paymentId"])["paymentStatus"] == "PAID"
    assert Decimal(stack.order(c["paymentId"])["reservedAmount"]) == 0
    assert stack.wallet_balance() == wallet_before + excess
