"""/finance/reports: a day's received / refunded / net by channel and payment type, for finance."""

from __future__ import annotations

from tests.support.html import dom
from tests.support.screen_setup import HTMX, in_app
from tests.support.statement_world import build_march

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
