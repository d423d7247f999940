"""The payment receipt (回单) in the browser: a reseller pays one order online at the gateway and one
from the wallet, the receipt appears on the payment page once the worker has printed it, the
downloaded PDF has the payment's figures in Chinese, page 1 rendered as an image (pdftoppm; kept as
e2e/screenshots/receipt-page1.png) carries a QR code (zbarimg) that opens the public /verify/<code>
page confirming the amount and date. Another company gets 404 for the document; finance gets it."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal

from playwright.sync_api import expect

from . import steps
from .support import FINANCE, OPERATOR, OPERATOR_R1002, SCREENSHOTS, money, shot


def _pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_receipt_download_qr_and_verification(browsing, stack, tmp_path):
    online, wallet = stack.create_orders(["3456.78", "10000.00"], desc="回单")
    total = Decimal(online["paymentAmount"]) + Decimal(wallet["paymentAmount"])

    page = browsing.as_user(OPERATOR)
    steps.checkout_orders(page, stack, [online, wallet])
    steps.allocate(page, online["paymentId"], "ONLINE")
    steps.allocate(page, wallet["paymentId"], "WALLET")
    steps.expect_checkout_total(page, total)
    merged_id = steps.submit_checkout(page)
    steps.pay_online_at_gateway(page, stack, merged_id, Decimal(online["paymentAmount"]))
    steps.expect_payment_status(page, "SUCCEEDED")

    download_link = page.get_by_test_id("receipt-download")  # the receipt part asks for itself until ready
    # The worker prints documents last (the `documents` queue): behind the receipts of the earlier
    # tests' payments on a busy machine it can take longer than the default wait.
    expect(download_link).to_be_visible(timeout=90_000)
    verify_link = page.get_by_test_id("receipt-verify")
    code = verify_link.get_attribute("href").rsplit("/", 1)[1]
    shot(page, "60-payment-receipt-ready")
    with page.expect_download() as download:
        download_link.click()
    pdf_path = tmp_path / "receipt.pdf"
    download.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF-")

    text = _pdf_text(pdf_path)
    assert "付款回单" in text and merged_id in text and code in text
    for order in (online, wallet):
        assert order["paymentId"] in text and money(order["paymentAmount"]) in text
    assert "人民币壹万叁仟肆佰伍拾陆元柒角捌分" in text and money(total) in text

    # Page 1 as an image, as a person (or a phone) would see it; its QR code leads to /verify/<code>.
    image_base = SCREENSHOTS / "receipt-page1"
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf_path),
                    str(image_base)], check=True)
    decoded = subprocess.run(["zbarimg", "-q", "--raw", f"{image_base}.png"], capture_output=True, text=True,
                             check=True).stdout.strip()
    assert decoded == f"{stack.base_url}/verify/{code}"

    visitor = browsing.anonymous()  # anyone holding the paper, signed in or not
    visitor.goto(decoded)
    result = visitor.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-valid", "true")
    expect(result.get_by_test_id("verify-amount")).to_have_text(money(total))
    expect(result.get_by_test_id("verify-date")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    expect(result).not_to_contain_text(online["paymentId"])  # key facts only
    shot(visitor, "61-verify")
    visitor.goto(f"/verify/{'A' * 16}")
    expect(visitor.get_by_test_id("verify-result")).to_have_attribute("data-valid", "false")

    pdf_url = download_link.get_attribute("href")
    assert browsing.as_user(OPERATOR_R1002).request.get(pdf_url).status == 404
    finance = browsing.as_user(FINANCE, "/finance/documents")
    assert finance.request.get(pdf_url).status == 200
    row = finance.get_by_test_id("document-row").filter(has_text=merged_id)
    expect(row).to_have_attribute("data-kind", "RECEIPT")
    expect(row).to_have_attribute("data-state", "READY")
    shot(finance, "62-finance-documents")
