"""/finance/reports/range: money over a range of Shanghai days grouped by payment type, channel,
reseller or day — the same rows as the finance API's ``payment-statistics`` (one service function),
with totals, chart, CSV/XLSX straight from the request and a PDF through the documents pipeline;
bad input refused next to its field; zh-CN words; finance only (the matrix in tests/support/routes.py)."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.domain.timeutil import SHANGHAI
from app.extensions import db
from app.models import AuditEntry
from tests.support.api import Api, add_credit_record, add_transaction
from tests.support.documents import render_queued
from tests.support.html import dom
from tests.support.screen_setup import in_app, make_order
from tests.support.web import csrf_token

STATS_URL = "/api/v1/integration/finance/payment-statistics"
FIRST, LAST = date(2026, 3, 10), date(2026, 3, 12)
RANGE = f"from={FIRST.isoformat()}&to={LAST.isoformat()}"
GROUPS = ("paymentType", "channel", "reseller", "day")


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI).astimezone(UTC)


def _busy(app) -> None:
    """Three days in March: every payment type and a channel of every kind, two resellers, two refunds,
    a failed payment (never counted), and a payment a second before and after the range (outside)."""
    a = make_order("R1001", "1000.00", payment_type="ADVANCE_PAYMENT")
    b = make_order("R1001", "500.00", payment_type="FINAL_PAYMENT")
    c = make_order("R1002", "80.00", payment_type="OTHER_FEE")
    record = add_credit_record(app, "R1001", "SO-CR-1", "300.00")
    d = make_order("R1001", "300.00", payment_type="CREDIT_REPAYMENT", order_id="SO-CR-1", credit_record_id=record)
    pay_a = add_transaction(app, a, "1000.00", channel="ONLINE_UNIONPAY", created_at=_at(FIRST, 0))
    add_transaction(app, b, "500.00", channel="WALLET", created_at=_at(FIRST, 9))
    add_transaction(app, c, "80.00", channel="CREDIT", created_at=_at(FIRST + timedelta(days=1), 12))
    pay_d = add_transaction(app, d, "300.00", channel="WIRE_ICBC", created_at=_at(LAST, 23))
    add_transaction(app, a, "200.00", kind="REFUND", channel="ONLINE_UNIONPAY", original=pay_a, created_at=_at(LAST, 8))
    add_transaction(app, d, "0.50", kind="REFUND", channel="WIRE_ICBC", original=pay_d, created_at=_at(LAST, 23))
    add_transaction(app, b, "1.00", status="FAILED", channel="WALLET", created_at=_at(LAST, 10))
    e = make_order("R1002", "7.00")
    add_transaction(app, e, "3.00", channel="WALLET", created_at=_at(FIRST, 0) - timedelta(seconds=1))
    add_transaction(app, e, "4.00", channel="WALLET", created_at=_at(LAST + timedelta(days=1), 0))


def _money(text: str) -> str:
    return text.replace("¥", "").replace(",", "")


def _screen_rows(page) -> list[tuple]:
    rows = []
    for r in page.all("report-range-row"):
        cells = [c.text for c in r.all(tag="td")]
        rows.append((r["data-key"], int(cells[1]), _money(cells[2]), int(cells[3]), _money(cells[4]), _money(cells[5])))
    return rows


def _api_rows(items: list[dict], group: str) -> list[tuple]:
    return [(x[group], x["paymentCount"], x["paymentAmount"], x["refundCount"], x["refundAmount"], x["netAmount"])
            for x in items]


@pytest.fixture
def finance_api(client, make_api_key):
    return Api(client, make_api_key("finance"))


def test_the_screen_shows_the_apis_figures_for_every_grouping(app, portal, signed_in, finance_api):
    _busy(app)
    client = signed_in("finance@example.com")
    for group in GROUPS:
        answer = client.get(f"/finance/reports/range?{RANGE}&groupBy={group}&lang=en")
        assert answer.status_code == 200, group
        page = dom(answer)
        api = finance_api.post(STATS_URL, json={"from": FIRST.isoformat(), "to": LAST.isoformat(), "groupBy": [group]})
        items = api.get_json()["data"]["items"]
        assert _screen_rows(page) == _api_rows(items, group), group
        assert (page.one("report-received").text, page.one("report-refunded").text, page.one("report-net").text) == (
            "¥1,880.00", "¥200.50", "¥1,679.50"), group
        total = [c.text for c in page.one("report-range-total").all(tag="td")]
        assert total == ["4", "¥1,880.00", "2", "¥200.50", "¥1,679.50"], group
        whole = finance_api.post(STATS_URL, json={"from": FIRST.isoformat(), "to": LAST.isoformat()})
        assert whole.get_json()["data"]["items"][0]["netAmount"] == "1679.50"
        bars = page.one("report-chart").all(tag="rect")
        if group == "day":  # a bar for every day of the range
            assert [b["data-amount"] for b in bars] == ["1500.00", "80.00", "300.00"]
        else:
            assert [b["data-amount"] for b in bars] == [x["paymentAmount"] for x in items]
    by_type = {r[0] for r in _screen_rows(dom(client.get(f"/finance/reports/range?{RANGE}&groupBy=paymentType")))}
    assert by_type == {"ADVANCE_PAYMENT", "FINAL_PAYMENT", "OTHER_FEE", "CREDIT_REPAYMENT"}
    by_channel = _screen_rows(dom(client.get(f"/finance/reports/range?{RANGE}&groupBy=channel")))
    assert [r[0] for r in by_channel] == ["CREDIT", "ONLINE_UNIONPAY", "WALLET", "WIRE_ICBC"]
    assert by_channel[1] == ("ONLINE_UNIONPAY", 1, "1000.00", 1, "200.00", "800.00")


def test_csv_and_xlsx_hold_the_table(app, portal, signed_in):
    _busy(app)
    client = signed_in("finance@example.com")
    page = dom(client.get(f"/finance/reports/range?{RANGE}&groupBy=channel&lang=en"))
    table = [[r["data-key"], *[_money(c.text) for c in r.all(tag="td")[1:]]] for r in page.all("report-range-row")]
    table.append(["Total", *[_money(c.text) for c in page.one("report-range-total").all(tag="td")]])
    csv_link, xlsx_link = page.one("report-export-csv")["href"], page.one("report-export-xlsx")["href"]
    answer = client.get(csv_link)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert 'filename="report-2026-03-10-2026-03-12-channel.csv"' in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert rows[0] == ["Channel", "Name", "Payments", "Received", "Refunds", "Refunded", "Net"]
    assert [[r[0], *r[2:]] for r in rows[1:]] == table
    xlsx = client.get(xlsx_link)
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True).worksheets[0]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0] == rows[0]
    amounts = (3, 5, 6)  # numbers in the workbook: amounts with two places, counts whole
    assert [[r[0], *[f"{Decimal(str(v)):.2f}" if i in amounts else str(v) for i, v in enumerate(r) if i >= 2]]
            for r in cells[1:]] == table
    # In Chinese: the headers and the names of payment types.
    zh = client.get(f"/finance/reports/range.csv?{RANGE}&groupBy=paymentType&lang=zh").data.decode("utf-8-sig")
    head, *body = list(csv.reader(io.StringIO(zh)))
    assert head[:4] == ["支付类型", "名称", "付款记录", "实收金额"] and body[-1][0] == "合计"
    assert ("ADVANCE_PAYMENT", "预付款") in {(r[0], r[1]) for r in body}
    assert _exports() == [("csv", "channel"), ("xlsx", "channel"), ("csv", "paymentType")]


@in_app
def _exports() -> list[tuple[str, str]]:
    """The audited exports, oldest first: (format, grouping)."""
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "reports.export")
                                 .order_by(AuditEntry.id))
    return [(e.after["format"], e.after["groupBy"]) for e in entries]


def test_an_empty_range_is_zeros_and_the_tabs_speak_chinese(portal, signed_in, finance_api):
    client = signed_in("finance@example.com")
    page = dom(client.get("/finance/reports/range?from=2026-01-01&to=2026-01-31&groupBy=day&lang=en"))
    assert (page.one("report-received").text, page.one("report-refunded").text, page.one("report-net").text) == (
        "¥0.00", "¥0.00", "¥0.00")
    assert page.all("report-range-row") == []
    assert [c.text for c in page.one("report-range-total").all(tag="td")] == ["0", "¥0.00", "0", "¥0.00", "¥0.00"]
    api = finance_api.post(STATS_URL, json={"from": "2026-01-01", "to": "2026-01-31", "groupBy": ["day"]})
    assert api.get_json()["data"]["items"] == []
    rows = list(csv.reader(io.StringIO(client.get(page.one("report-export-csv")["href"]).data.decode("utf-8-sig"))))
    assert rows[1:] == [["Total", "", "0", "0.00", "0", "0.00", "0.00"]]
    _tabs_and_chinese_words(client)


BAD = [
    ("from=2026-03-12&to=2026-03-10", "to", "must not be before its start"),
    ("from=2026-02-30&to=2026-03-10", "from", "Enter a date like"),
    ("from=2026-03-01&to=yesterday", "to", "Enter a date like"),
    ("from=1900-01-01&to=2026-03-10", "from", "Enter a date between"),
    ("from=2025-01-01&to=2026-03-10", "to", "at most 366 days"),
    ("from=2026-03-01&to=2026-03-10&groupBy=month", "groupBy", "Choose payment type"),
]


def test_bad_inputs_are_refused_next_to_their_field(portal, signed_in, finance_api):
    client = signed_in("finance@example.com")
    for query, field, words in BAD:
        for path in ("/finance/reports/range", "/finance/reports/range.csv", "/finance/reports/range.xlsx"):
            answer = client.get(f"{path}?{query}&lang=en")
            assert answer.status_code == 422, (path, query)
            page = dom(answer)
            assert words in page.one(tag="p", id=f"{field}-error").text, (path, query)
            testid = "report-group-by" if field == "groupBy" else f"report-range-{field}"
            assert page.one(testid)["aria-invalid"] == "true"
            assert page.all("report-range-row") == [] and page.all("report-export-csv") == []
    token = csrf_token(client, "/finance/reports/range")
    refused = client.post("/finance/reports/range/pdf?lang=en",
                          data={"from": "2026-03-12", "to": "2026-03-10", "groupBy": "day", "csrf_token": token})
    assert refused.status_code == 422 and "must not be before" in dom(refused).one(tag="p", id="to-error").text
    future = client.post("/finance/reports/range/pdf?lang=en",
                         data={"from": "2098-12-01", "to": "2099-01-01", "groupBy": "day", "csrf_token": token})
    assert future.status_code == 422 and "has not come yet" in dom(future).one(tag="p", id="to-error").text
    assert dom(client.get("/finance/reports/documents")).all("document-row") == []
    assert client.get(f"/finance/reports/range.pdf?{RANGE}").status_code == 404
    # The API refuses the same ranges with a 422 naming the field.
    for body, field in (({"from": "2026-03-12", "to": "2026-03-10"}, "to"),
                        ({"from": "2025-01-01", "to": "2026-03-10"}, "to"),
                        ({"from": "2026-03-01", "to": "2026-03-10", "groupBy": ["month"]}, "groupBy.0")):
        answer = finance_api.post(STATS_URL, json=body)
        assert answer.status_code == 422 and field in [e["field"] for e in answer.get_json()["errors"]]


def test_the_range_as_a_pdf_with_the_screens_figures(app, portal, signed_in, tmp_path):
    _busy(app)
    client = signed_in("finance@example.com")
    page = dom(client.get(f"/finance/reports/range?{RANGE}&groupBy=paymentType&lang=en"))
    assert page.one("report-export-pdf")["type"] == "submit"
    token = csrf_token(client, "/finance/reports/range")
    answer = client.post("/finance/reports/range/pdf",
                         data={"from": FIRST.isoformat(), "to": LAST.isoformat(), "groupBy": "paymentType",
                               "csrf_token": token})
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/finance/reports/range?{RANGE}&groupBy=paymentType")
    row = dom(client.get("/finance/reports/documents")).one("document-row")
    assert (row["data-kind"], row["data-state"]) == ("REPORT", "QUEUED")
    assert render_queued("RANGE_REPORT") == ["READY"]
    row = dom(client.get("/finance/reports/documents")).one("document-row")
    pdf = client.get(row.one("document-download")["href"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    path = tmp_path / "range.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    table = page.one("report-range-table")
    numbers = [c.text for r in table.all(tag="tr") for c in r.all(tag="td", **{"class": "num"})]
    assert len(numbers) == 25  # four payment types and the total, five figures each
    for number in numbers:
        assert number in text, number
    assert "2026-03-10 – 2026-03-12" in text
    # The same request again (same figures): the same document, nothing new queued.
    client.post("/finance/reports/range/pdf", data={"from": FIRST.isoformat(), "to": LAST.isoformat(),
                                                    "groupBy": "paymentType", "csrf_token": token})
    assert len(dom(client.get("/finance/reports/documents")).all("document-row")) == 1


def _tabs_and_chinese_words(client) -> None:
    day = dom(client.get("/finance/reports?lang=zh"))
    assert day.one("report-tab-day")["aria-current"] == "page"
    assert day.one("report-tab-range")["href"] == "/finance/reports/range"
    page = client.get("/finance/reports/range?lang=zh")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for words in ("单日", "日期范围", "开始日期", "结束日期", "分组", "按支付类型", "按经销商", "按日期",
                  "导出 CSV", "导出 PDF"):
        assert words in text, words
    d = dom(page)
    today = datetime.now(SHANGHAI).date()
    assert (d.one("report-range-from")["value"], d.one("report-range-to")["value"]) == (
        today.replace(day=1).isoformat(), today.isoformat())
    assert d.one("report-group-by").one(tag="option", selected="")["value"] == "paymentType"
    bad = client.get("/finance/reports/range?from=2026-03-12&to=2026-03-10&lang=zh")
    assert "结束日期不能早于开始日期" in dom(bad).one(tag="p", id="to-error").text
