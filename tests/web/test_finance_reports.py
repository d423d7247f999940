"""/finance/reports: a day's received / refunded / net by channel and payment type, for finance."""

from __future__ import annotations

import subprocess

from tests.support.documents import render_queued
from tests.support.html import dom
from tests.support.screen_setup import HTMX, in_app
from tests.support.statement_world import build_march
from tests.support.web import csrf_token

build = in_app(build_march)


def test_a_day_on_screen(portal, signed_in):
    build()
    client = signed_in("finance@example.com")
    d = dom(client.get("/finance/reports?day=2026-03-12&lang=en"))
    assert d.one("report")["data-day"] == "2026-03-12"
    assert (d.one("report-received").text, d.one("report-refunded").text, d.one("report-net").text) == (
        "¥1,200.00", "¥0.00", "¥1,200.00")
    assert [(n["data-key"], n.all(tag="td")[-1].text) for n in d.all("report-channel-row")] == [
        ("CREDIT", "¥700.00"), ("WALLET", "¥500.00")]
    assert [(n["data-key"], n.all(tag="td")[-1].text) for n in d.all("report-type-row")] == [
        ("FINAL_PAYMENT", "¥1,200.00")]
    assert [r["data-amount"] for r in d.one("report-chart").all(tag="rect")] == ["700.00", "500.00"]
    refunds = dom(client.get("/finance/reports?day=2026-03-20", headers=HTMX))
    assert refunds.one("report-net").text == "-¥100.00"


def test_a_quiet_day_and_a_bad_day(portal, signed_in):
    client = signed_in("finance@example.com")
    quiet = dom(client.get("/finance/reports?day=2026-03-13"))
    assert quiet.one("report-received").text == "¥0.00" and quiet.all("report-channel-row") == []
    bad = client.get("/finance/reports?day=2026-02-30&lang=en")
    assert bad.status_code == 422 and "Enter a date like" in dom(bad).one(tag="p", id="day-error").text


def test_resellers_cannot_open_reports(portal, signed_in):
    assert signed_in("operator@r1001.example").get("/finance/reports").status_code == 403


def test_export_the_day_as_pdf_with_the_screens_figures(portal, signed_in, tmp_path):
    build()
    client = signed_in("finance@example.com")
    page = dom(client.get("/finance/reports?day=2026-03-12&lang=en"))
    token = csrf_token(client, "/finance/reports")
    answer = client.post("/finance/reports/pdf", data={"day": "2026-03-12", "csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/finance/reports?day=2026-03-12")
    listing = dom(client.get("/finance/reports/documents"))
    row = listing.one("document-row")
    assert (row["data-kind"], row["data-state"]) == ("REPORT", "QUEUED")
    assert render_queued("DAILY_REPORT") == ["READY"]
    row = dom(client.get("/finance/reports/documents")).one("document-row")
    pdf = client.get(row.one("document-download")["href"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    numbers = [n.text for n in page.one("report").iter() if n.tag == "td" and "num" in (n["class"] or "").split()]
    assert len(numbers) == 25  # two channels and one type, each table with its total: 5 rows x 5 figures
    for number in numbers + [page.one("report-received").text, page.one("report-net").text]:
        assert number in text, number
    # Resellers never get a finance report, not even by its number.
    assert signed_in("operator@r1001.example").get(row.one("document-download")["href"]).status_code == 404


def test_a_day_to_come_is_refused(portal, signed_in):
    client = signed_in("finance@example.com")
    token = csrf_token(client, "/finance/reports")
    answer = client.post("/finance/reports/pdf?lang=en", data={"day": "2099-01-01", "csrf_token": token})
    assert answer.status_code == 422 and "has not come yet" in dom(answer).one(tag="p", id="day-error").text
