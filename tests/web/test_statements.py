"""/statements: the reseller picks a month and sees its statement's figures (the same service as the
PDF), only its own company's; a month that is not one is refused next to the field."""

from __future__ import annotations

from tests.support.html import dom
from tests.support.screen_setup import HTMX, in_app
from tests.support.statement_world import build_march

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
