"""/statements: the reseller picks a month and sees its statement's figures (the same service as the
PDF), only its own company's; a month that is not one is refused next to the field."""

from __future__ import annotations

import io
import subprocess

import sqlalchemy as sa
from pypdf import PdfReader

from app.extensions import db
from app.models import Document
from tests.support.documents import render_queued
from tests.support.html import dom
from tests.support.screen_setup import HTMX, in_app
from tests.support.statement_world import build_march, stored_statement
from tests.support.web import csrf_token

build = in_app(build_march)


def _cells(page, testid):
    return [n.text for n in dom(page).all(testid)]


def test_march_on_screen(portal, signed_in):
    build()
    client = signed_in("operator@r1001.example")
    page = client.get("/statements?month=2026-03&lang=en")
    assert page.status_code == 200
    d = dom(page)
    assert d.one("statement-figures")["data-month"] == "2026-03"
    assert d.one("statement-month")["value"] == "2026-03"
    figures = {t: d.one(t).text for t in ("statement-opening", "statement-created", "statement-paid",
                                          "statement-stopped", "statement-closing", "aging-total")}
    assert figures == {"statement-opening": "¥3,600.00", "statement-created": "¥2,800.00",
                       "statement-paid": "-¥1,200.00", "statement-stopped": "-¥800.00",
                       "statement-closing": "¥4,400.00", "aging-total": "¥4,400.00"}
    assert [(n["data-channel"], n.all(tag="td")[-1].text) for n in d.all("statement-payment-row")] == [
        ("CREDIT", "¥700.00"), ("WALLET", "¥500.00")]
    assert [n["data-channel"] for n in d.all("statement-refund-row")] == ["WALLET"]
    assert [(n["data-bucket"], n.all(tag="td")[-1].text) for n in d.all("aging-bucket")] == [
        ("0-30", "¥800.00"), ("31-60", "¥600.00"), ("61-90", "¥0.00"), (">90", "¥3,000.00")]
    assert [n.text for n in d.one("statement-wallet").all(tag="td")] == [
        "¥499,600.00", "¥100.00", "¥500.00", "¥499,200.00"]
    assert d.one("statement-line-count")["data-count"] == "6"
    chart = d.one("statement-chart")
    assert chart.tag == "svg" and [r["data-amount"] for r in chart.all(tag="rect")] == [
        "800.00", "600.00", "0.00", "3000.00"]


def test_another_company_sees_only_its_own(portal, signed_in):
    build()
    page = signed_in("operator@r1002.example").get("/statements?month=2026-03")
    d = dom(page)
    assert d.one("statement-closing").text == "¥0.00" and d.all("statement-payment-row") == []
    assert d.one("statement-line-count")["data-count"] == "0"


def test_htmx_swaps_the_figures_and_a_bad_month_is_refused(portal, signed_in):
    client = signed_in("operator@r1001.example")
    fragment = client.get("/statements?month=2026-02", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert dom(fragment).one("statement-figures")["data-month"] == "2026-02"
    bad = client.get("/statements?month=2026-13&lang=en")
    assert bad.status_code == 422
    assert "Pick a month like 2026-03." in dom(bad).one(tag="p", id="month-error").text
    assert dom(bad).one("statement-month")["aria-invalid"] == "true"
    zh = client.get("/statements?month=2026-13&lang=zh")
    assert zh.status_code == 422 and "2026-03" in dom(zh).one(tag="p", id="month-error").text


def test_staff_cannot_open_statements(portal, signed_in):
    assert signed_in("finance@example.com").get("/statements").status_code == 403




def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "statement.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_request_render_download_and_the_pdf_says_what_the_screen_says(portal, signed_in, tmp_path):
    ids = build()
    client = signed_in("operator@r1001.example")
    token = csrf_token(client, "/statements")
    answer = client.post("/statements", data={"month": "2026-03", "csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/statements?month=2026-03")
    page = dom(client.get("/statements?month=2026-03&lang=en"))
    row = page.one("document-row")
    assert (row["data-kind"], row["data-state"]) == ("STATEMENT", "QUEUED") and "2026-03" in row.text
    assert page.one("document-list")["hx-trigger"] == "every 3s" and page.all("document-download") == []
    # Asking again for the same data is the same document.
    client.post("/statements", data={"month": "2026-03", "csrf_token": token})
    assert len(dom(client.get("/statements/documents")).all("document-row")) == 1
    assert render_queued("STATEMENT") == ["READY"]
    listing = dom(client.get("/statements/documents"))
    assert listing.one("document-row")["data-state"] == "READY" and listing.one("document-list")["hx-trigger"] is None
    pdf = client.get(listing.one("document-download")["href"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Disposition"] == "attachment; filename=statement-R1001-2026-03.pdf"
    text = _pdf_text(pdf.data, tmp_path)
    # Every figure of the screen, in the screen's order, is in the PDF, in the same order.
    figures = page.one("statement-figures")
    numbers = [n.text for n in figures.iter() if n.tag == "td" and "num" in (n["class"] or "").split()]
    assert len(numbers) == 35  # owed 5, orders 4, payments 5, refunds 3, aging 10, wallet and credit 8
    at = 0
    for number in numbers:
        found = text.find(number, at)
        assert found >= 0, (number, text[at:at + 400])
        at = found + len(number)
    assert "Page 1 of 2" in text and "Page 2 of 2" in text and "Reseller R1001" in text
    assert "对账单" in text and "逾期未付金额账龄" in text and "期末余额" in text
    assert len(PdfReader(io.BytesIO(pdf.data)).pages) == 2
    assert text.count(ids["B"]) == 4 and text.count(ids["E"]) == 2  # the six detail lines


def test_another_company_gets_404_for_the_statement(portal, signed_in):
    number = in_app(stored_statement)()
    assert signed_in("operator@r1002.example").get(f"/documents/{number}/pdf").status_code == 404
    assert signed_in("operator@r1002.example").get("/statements/documents").get_data(as_text=True).count(
        "document-row") == 0
    mine = signed_in("approver@r1001.example").get(f"/documents/{number}/pdf")
    assert mine.status_code == 200 and mine.data.startswith(b"%PDF-")
    assert signed_in("finance@example.com").get(f"/documents/{number}/pdf").status_code == 200


def test_a_month_to_come_is_refused_next_to_the_field(portal, signed_in):
    client = signed_in("operator@r1001.example")
    token = csrf_token(client, "/statements")
    answer = client.post("/statements?lang=en", data={"month": "2099-01", "csrf_token": token})
    assert answer.status_code == 422
    assert "this month or a month before" in dom(answer).one(tag="p", id="month-error").text
    assert in_app(lambda: db.session.scalar(sa.select(sa.func.count(Document.id))))() == 0
