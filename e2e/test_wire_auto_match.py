"""Wire auto-match in the browser, on the whole stack: the reseller checks out by wire and reads the
reference code; the sandbox bank "receives" the transfer with the code typed in full-width
characters with spaces, plus a transfer without any code; finance uploads the bank's GBK statement on
/finance/reconciliation, sees the detected format and encoding before anything is stored, imports it;
the wire is confirmed with no voucher and the other transfer waits as an unidentified receipt."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from . import steps
from .support import FINANCE, shot
from .test_vouchers import _wire_checkout

OURS = "6222020200112233445"  # the demo WIRE channel's receiving account


def test_a_full_width_reference_on_the_bank_statement_confirms_the_wire_without_a_voucher(browsing, stack):
    page, _order, _merged = _wire_checkout(browsing, stack, "4321.00")
    reference = steps.wire_reference(page)
    wide = "".join(chr(ord(c) + 0xFEE0) for c in reference)
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    stray = f"{random.randint(100, 999)}.{random.randint(10, 99)}"
    stack.gateway.receive_wire(OURS, "华东重工设备销售有限公司", "6222020200198765432", "4321.00",
                               f"货款 {wide[:3]} {wide[3:7]}　{wide[7:]}", value_date=day)
    stack.gateway.receive_wire(OURS, "某某个人", "6217000011119999", stray, "往来款", value_date=day)
    data = stack.gateway.bank_statement(OURS, day, "csv", "gbk")

    desk = browsing.as_user(FINANCE, "/finance/reconciliation")
    desk.get_by_test_id("recon-upload-file").set_input_files(
        files=[{"name": "工行流水.csv", "mimeType": "text/csv", "buffer": data}])
    desk.get_by_test_id("recon-upload-submit").click()
    preview = desk.get_by_test_id("recon-upload-preview")
    expect(preview).to_have_attribute("data-format", "CSV")
    expect(preview).to_have_attribute("data-encoding", "GBK")
    expect(desk.locator(f'[data-testid="unidentified-row"][data-amount="{stray}"]')).to_have_count(0)
    shot(desk, "90-finance-wire-statement-preview")
    desk.get_by_test_id("recon-import-submit").click()
    expect(desk.locator(f'[data-testid="unidentified-row"][data-amount="{stray}"]')).to_be_visible()
    shot(desk, "91-finance-wire-statement-imported")

    page.reload()
    steps.expect_payment_status(page, "SUCCEEDED")
