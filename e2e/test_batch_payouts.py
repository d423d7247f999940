"""Batch payouts (批量付款) in the browser, on the whole stack (worker, sandbox gateway): a file of 50
payees with two bad rows is refused with both errors beside their rows and nothing stored; corrected,
it becomes a draft with its preview (count, total) that the uploader submits; the uploader cannot
approve it; the second finance user approves it; the worker pays it out on the low queue through the
sandbox and the batch page shows its final counts (HTMX polling)."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

from playwright.sync_api import expect

from .support import FINANCE, FINANCE2, money, shot

HEADER = ["收款人", "收款账号", "银行代码", "金额", "用途"]


def _rows(n: int) -> list[list[str]]:
    tag = uuid.uuid4().int % 10**6  # accounts of their own: a rerun on the same stack is not a duplicate
    return [[f"供应商{i:02d}", f"6222{tag:06d}{i:06d}", "ICBC", f"{100 + i}.50", f"十二月货款 {i}"]
            for i in range(1, n + 1)]


def _file(rows: list[list[str]]) -> dict:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return {"name": "十二月供应商.csv", "mimeType": "text/csv", "buffer": text.getvalue().encode("gbk")}


def test_a_batch_with_two_bad_rows_is_refused_corrected_approved_and_paid(browsing, stack):
    rows = _rows(50)
    good = [list(r) for r in rows]
    rows[9][3] = "88.005"  # data row 10: three decimals
    rows[29][1] = "6222-XX"  # data row 30: a bad account number
    desk = browsing.as_user(FINANCE, "/finance/disbursements")
    expect(desk.get_by_test_id("batch-merchant")).to_have_value("M1001")
    desk.get_by_test_id("batch-upload-file").set_input_files(files=[_file(rows)])
    desk.get_by_test_id("batch-upload-submit").click()
    errors = desk.get_by_test_id("batch-row-error")
    expect(errors).to_have_count(2)
    expect(desk.locator('[data-testid="batch-row-error"][data-row="10"]')).to_be_visible()
    expect(desk.locator('[data-testid="batch-row-error"][data-row="30"]')).to_be_visible()
    expect(desk.get_by_test_id("batch-row").filter(has_text="十二月供应商")).to_have_count(0)  # nothing stored
    shot(desk, "80-finance-batch-refused")

    desk.get_by_test_id("batch-upload-file").set_input_files(files=[_file(good)])
    desk.get_by_test_id("batch-upload-submit").click()
    total = sum(Decimal(r[3]) for r in good)
    preview = desk.get_by_test_id("batch-preview")
    expect(preview).to_have_attribute("data-count", "50")
    expect(preview).to_have_attribute("data-total", f"{total:.2f}")
    expect(preview).to_contain_text(money(total))
    desk.get_by_test_id("batch-submit").click()
    expect(desk.get_by_test_id("flash")).to_be_visible()
    batch_url = desk.url
    # the uploader may not approve: refused with a clear error, nothing changes
    desk.get_by_test_id("batch-approve").click()
    expect(desk.get_by_test_id("flash")).to_be_visible()
    expect(desk.get_by_test_id("batch-approve")).to_be_visible()
    expect(desk.get_by_test_id("batch-progress")).to_have_count(0)

    second = browsing.as_user(FINANCE2, batch_url)
    second.get_by_test_id("batch-approve").click()
    progress = second.get_by_test_id("batch-progress")
    expect(progress).to_have_attribute("data-total", "50")
    expect(progress).to_have_attribute("data-succeeded", "50", timeout=60_000)  # HTMX polling, the worker
    expect(progress).to_have_attribute("data-failed", "0")
    expect(progress).to_have_attribute("data-status", "COMPLETED")
    expect(second.get_by_test_id("batch-result-download")).to_be_visible()
    shot(second, "81-finance-batch-completed")
