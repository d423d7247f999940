"""Statements in a browser against the whole stack: the reseller picks a month on /statements and asks
for its PDF, watches the row become READY without reloading (the worker prints it), downloads it;
page 1 is kept as an image (pdftoppm) next to the screenshots. Another company's operator gets 404
for it."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from playwright.sync_api import expect

from .support import OPERATOR, OPERATOR_R1002, SCREENSHOTS, shot


def test_request_watch_ready_and_download_a_statement(browsing, stack):
    page = browsing.as_user(OPERATOR, "/statements")
    month = page.get_by_test_id("statement-month")
    expect(month).to_be_visible()
    last_month = month.input_value()
    assert re.fullmatch(r"\d{4}-\d{2}", last_month)
    expect(page.get_by_test_id("statement-figures")).to_have_attribute("data-month", last_month)
    page.get_by_test_id("statement-request").click()
    row = page.get_by_test_id("document-row").filter(has_text=last_month).first
    expect(row).to_have_attribute("data-kind", "STATEMENT")
    url_before = page.url
    # The list asks for itself again until the worker has printed the statement: no reload here.
    expect(row).to_have_attribute("data-state", "READY", timeout=90_000)
    assert page.url == url_before
    shot(page, "statements-ready")
    with page.expect_download() as info:
        row.get_by_test_id("document-download").click()
    download = info.value
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "statement.pdf"
        download.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF-")
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "对账单" in text and "Monthly statement" in text and last_month in text
        closing = page.get_by_test_id("statement-closing").inner_text().strip()
        assert closing in text
        SCREENSHOTS.mkdir(exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(SCREENSHOTS / "statement-page1")], check=True)
    assert (SCREENSHOTS / "statement-page1.png").stat().st_size > 5000

    href = row.get_by_test_id("document-download").get_attribute("href")
    assert href and href.startswith("/documents/")
    other = browsing.as_user(OPERATOR_R1002, "/statements")
    answer = other.request.get(stack.base_url + href)
    assert answer.status == 404
