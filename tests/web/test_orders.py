"""/orders: filters (one by one and together), sort, pagination, totals, selection hooks, HTMX partials,
bad filters next to the field, tenant isolation, the detail page, and CSV/XLSX exports (direct and
through a real RQ worker)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.domain import numbers
from app.domain.timeutil import SHANGHAI
from app.extensions import db
from app.models import PaymentOrder, PaymentTransaction, StatusLog
from tests.support.factories import add_channel
from tests.support.web import csrf_token
from tests.support.world import NOW, World, build_world

ROW = re.compile(r'data-testid="order-row" data-payment-id="([^"]+)"')


def add_order(rid: int, order_id: str, amount: str = "1000.00", *, status: str = "UNPAID", paid: str = "0.00",
              reserved: str = "0.00", ptype: str = "ADVANCE_PAYMENT", deadline: datetime | None = None,
              created: datetime | None = None, channel: str | None = None, desc: str = "",
              related: str = "", refunded: str = "0.00") -> str:
    """One order as the engine would have left it (amounts consistent with the status); with
    ``channel``, a PAYMENT transaction on that channel for the paid (or reserved) part."""
    created = created or NOW
    o = PaymentOrder(payment_id=numbers.payment_id(), order_id=order_id, reseller_id=rid, payment_type=ptype,
                     payment_amount=Decimal(amount), paid_amount=Decimal(paid), refunded_amount=Decimal(refunded),
                     reserved_amount=Decimal(reserved), refunding_amount=Decimal("0.00"), currency="CNY",
                     payment_status=status, refund_status="NO_REFUND", payment_deadline=deadline,
                     business_desc=desc, priority=0, related_business_id=related,
                     related_business_type="CREDIT_RECORD" if related else None, tags={}, version=1,
                     created_at=created, updated_at=created)
    db.session.add(o)
    db.session.flush()
    db.session.add(StatusLog(payment_order_id=o.id, field="payment", from_status=None, to_status="UNPAID",
                             reason="created", actor="api_client:test", created_at=created))
    if channel:
        moved = Decimal(paid) if Decimal(paid) > 0 else Decimal(reserved)
        db.session.add(PaymentTransaction(
            transaction_id=numbers.transaction_id(), payment_order_id=o.id, order_id=order_id, reseller_id=rid,
            transaction_type="PAYMENT", status="SUCCESS" if Decimal(paid) > 0 else "PROCESSING",
            amount=moved, channel_code=channel, channel_kind="WALLET", created_at=created,
            completed_at=created if Decimal(paid) > 0 else None))
    db.session.commit()
    return o.payment_id


@pytest.fixture
def orders(app, portal):
    """R1001: eight orders covering every filter; R1002: two (one shares an order id with R1001)."""
    r1, r2 = portal.r1001, portal.r1002
    day = timedelta(days=1)
    with app.app_context():
        add_channel("WALLET", "WALLET", name="企业钱包", name_en="Enterprise wallet")
        add_channel("WIRE_ICBC", "WIRE", name="工行电汇", name_en="ICBC wire")
        made = {
            "a": add_order(r1, "SO-A", "1000.00", created=NOW - 40 * day, deadline=NOW - 5 * day),  # overdue
            "b": add_order(r1, "SO-B", "2500.50", status="PARTIAL_PAID", paid="500.50", created=NOW - 30 * day,
                           deadline=NOW + 3 * day, channel="WALLET"),
            "c": add_order(r1, "SO-C", "8000.00", status="PAID", paid="8000.00", ptype="FINAL_PAYMENT",
                           created=NOW - 20 * day, deadline=NOW - 2 * day, channel="WIRE_ICBC"),
            "d": add_order(r1, "SO-D", "300.00", status="PAYING", reserved="300.00", ptype="OTHER_FEE",
                           created=NOW - 10 * day, deadline=NOW + 20 * day, channel="WIRE_ICBC"),
            "e": add_order(r1, "SO-E", "120000.00", ptype="FINAL_PAYMENT", created=NOW - 5 * day,
                           deadline=NOW + 40 * day, desc="=HYPERLINK(\"http://evil\")"),
            "f": add_order(r1, "SO-F", "50.00", status="FROZEN", created=NOW - 3 * day),
            "g": add_order(r1, "SHARED-1", "700.00", created=NOW - 2 * day, deadline=NOW + 1 * day),
            "h": add_order(r1, "SO-H", "999.99", status="STOPPED", created=NOW - 1 * day),
            "x": add_order(r2, "SHARED-1", "700.00", ptype="OTHER_FEE", created=NOW - 2 * day),
            "y": add_order(r2, "SO-Y", "5.00", created=NOW - 1 * day),
        }
    return made


@pytest.fixture
def world(app, portal) -> World:
    return build_world(app, portal)


def listed(response) -> list[str]:
    return ROW.findall(response.get_data(as_text=True))


def rows(client, query: str = "", **kw) -> list[str]:
    response = client.get("/orders" + (f"?{query}" if query else ""), **kw)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return listed(response)


@pytest.fixture
def op1(signed_in):
    return signed_in("operator@r1001.example")


def test_lists_only_the_resellers_own_orders_newest_first(orders, op1, signed_in):
    assert rows(op1) == [orders[k] for k in "hgfedcba"]
    assert rows(signed_in("operator@r1002.example")) == [orders["y"], orders["x"]]
    assert rows(signed_in("approver@r1001.example")) == [orders[k] for k in "hgfedcba"]


@pytest.mark.parametrize(("query", "expected"), [
    ("paymentStatus=UNPAID", "gea"),
    ("paymentStatus=PAID&paymentStatus=PAYING", "dc"),
    ("paymentStatus=PAID,PAYING", "dc"),  # the API's comma form
    ("paymentStatus=PAID+PAYING", "dc"),
    ("paymentType=FINAL_PAYMENT", "ec"),
    ("paymentType=OTHER_FEE,FINAL_PAYMENT", "edc"),
    ("orderId=SO-A", "a"),
    ("orderId=SO-A,SO-C", "ca"),
    ("orderId=SO-A+SO-C%2CSO-E", "eca"),  # spaces and commas
    ("orderId=SHARED-1", "g"),  # never R1002's order of the same id
    ("orderId=NOPE", ""),
    ("minAmount=1000", "ecba"),
    ("maxAmount=700", "gfd"),
    ("minAmount=300&maxAmount=999.99", "hgd"),
    ("minAmount=1%2C000.00&maxAmount=2500.50", "ba"),  # thousands separators are fine
    ("createdFrom=" + (NOW - timedelta(days=21)).astimezone(SHANGHAI).strftime("%Y-%m-%d"), "hgfedc"),
    ("channel=WIRE_ICBC", "dc"),
    ("channel=WALLET", "b"),
    ("overdue=1", "a"),
])
def test_each_filter_alone(orders, op1, query, expected):
    assert rows(op1, query) == [orders[k] for k in expected], query


def test_created_and_deadline_ranges_are_shanghai_days_inclusive(orders, op1):
    def day(dt):
        return dt.astimezone(SHANGHAI).strftime("%Y-%m-%d")

    created_b = day(NOW - timedelta(days=30))
    assert rows(op1, f"createdFrom={created_b}&createdTo={created_b}") == [orders["b"]]
    d_from, d_to = day(NOW - timedelta(days=5)), day(NOW + timedelta(days=3))
    assert rows(op1, f"deadlineFrom={d_from}&deadlineTo={d_to}") == [orders[k] for k in "gcba"]
    assert rows(op1, f"deadlineTo={d_from}") == [orders["a"]]


def test_filters_combined(orders, op1):
    assert rows(op1, "paymentStatus=UNPAID,PARTIAL_PAID&paymentType=ADVANCE_PAYMENT&minAmount=900") == [
        orders["b"], orders["a"]]
    assert rows(op1, "paymentStatus=UNPAID,PARTIAL_PAID&paymentType=ADVANCE_PAYMENT&minAmount=900"
                     "&channel=WALLET") == [orders["b"]]
    assert rows(op1, "paymentType=ADVANCE_PAYMENT&overdue=1&orderId=SO-A,SO-B") == [orders["a"]]
    assert rows(op1, "paymentType=FINAL_PAYMENT&overdue=1") == []  # SO-C is late but PAID


def test_sort_by_each_column_both_ways(orders, op1):
    own = "abcdefgh"
    assert rows(op1, "sort=amount") == [orders[k] for k in "fdghabce"]
    assert rows(op1, "sort=-amount") == [orders[k] for k in "ecbahgdf"]
    assert rows(op1, "sort=created") == [orders[k] for k in own]
    assert rows(op1, "sort=orderId") == [orders[k] for k in "gabcdefh"]
    no_deadline = {orders["f"], orders["h"]}  # where orders without a deadline go depends on the database
    assert [p for p in rows(op1, "sort=deadline") if p not in no_deadline] == [orders[k] for k in "acgbde"]
    assert [p for p in rows(op1, "sort=-deadline") if p not in no_deadline] == [orders[k] for k in "edbgca"]
    assert rows(op1, "sort=status")[:1] == [orders["f"]]  # by code: FROZEN first
    assert rows(op1, "sort=nonsense") == rows(op1)  # an unknown sort is the default, not an error


def test_pagination_keeps_filters_and_totals_cover_the_whole_filtered_set(orders, op1, portal):
    page1 = op1.get("/orders?pageSize=20&paymentStatus=UNPAID,PARTIAL_PAID,PAID,PAYING,FROZEN,STOPPED")
    assert len(listed(page1)) == 8
    with op1.application.app_context():
        for i in range(25):
            add_order(portal.r1001, f"BULK-{i:02d}", "10.00", created=NOW - timedelta(days=60, minutes=i))
    first = op1.get("/orders?paymentType=ADVANCE_PAYMENT&sort=created")
    body = first.get_data(as_text=True)
    assert len(listed(first)) == 20
    assert "第 1 页，共 2 页" in body and 'data-testid="page-prev"' not in body
    assert 'href="/orders?paymentType=ADVANCE_PAYMENT&amp;sort=created&amp;page=2"' in body
    second = op1.get("/orders?paymentType=ADVANCE_PAYMENT&sort=created&page=2")
    assert len(listed(second)) == 25 + 5 - 20  # a, b, f, g, h are ADVANCE_PAYMENT too
    assert set(listed(first)).isdisjoint(listed(second))
    # totals: 25 x 10.00 + a 1000 + b 2500.50 + f 50 + g 700 + h 999.99
    totals = re.search(r'data-testid="order-totals" data-count="(\d+)" data-amount="([\d.]+)"\s+'
                       r'data-payable="([\d.]+)"', body)
    assert totals.groups() == ("30", "5500.49", "4999.99")
    assert 'data-testid="total-amount">¥5,500.49<' in body
    # a page past the end shows the last one
    assert listed(op1.get("/orders?paymentType=ADVANCE_PAYMENT&sort=created&page=99")) == listed(second)
    assert len(listed(op1.get("/orders?pageSize=50"))) == 33
    assert len(listed(op1.get("/orders?page=abc&pageSize=7"))) == 20  # junk is the default


def test_payable_rows_have_a_checkbox_and_the_selection_hooks(orders, op1):
    body = op1.get("/orders").get_data(as_text=True)
    selectable = re.findall(r'data-testid="order-select" name="ids" form="checkout-form"\s+value="([^"]+)" '
                            r'data-payable="([^"]+)"', body)
    assert dict(selectable) == {orders["a"]: "1000.00", orders["b"]: "2000.00", orders["e"]: "120000.00",
                                orders["g"]: "700.00"}  # not PAID, PAYING with nothing left, FROZEN, STOPPED
    assert 'data-testid="selected-total"' in body and "¥0.00" in body
    assert 'data-testid="checkout-button"' in body and 'action="/checkout"' in body
    assert 'src="/static/orders.js"' in body
    assert " style=" not in body and "<script>" not in body and " on" + "click" not in body


def test_htmx_filter_answers_the_table_partial_and_the_form_out_of_band(orders, op1):
    response = op1.get("/orders?paymentStatus=UNPAID&orderId=&minAmount=&sort=-created&pageSize=20",
                       headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and "<header" not in body
    assert listed(response) == [orders[k] for k in "gea"]
    assert 'id="order-filter-form"' in body and 'hx-swap-oob="true"' in body
    assert response.headers["HX-Push-Url"] == "/orders?paymentStatus=UNPAID"
    assert "HX-Request" in response.headers["Vary"]
    # a history restore gets the whole page
    restore = op1.get("/orders?paymentStatus=UNPAID", headers={"HX-Request": "true",
                                                                "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)
    bad = op1.get("/orders?minAmount=abc", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert bad.status_code == 200 and 'id="minAmount-error"' in bad.get_data(as_text=True)  # htmx drops a 4xx
    # the full page of the same URL
    page = op1.get("/orders?paymentStatus=UNPAID").get_data(as_text=True)
    assert "<html" in page and 'data-testid="order-filter-form"' in page and 'hx-swap-oob' not in page
    assert 'value="UNPAID"\n        checked' in page or re.search(r'value="UNPAID"\s+checked', page)


@pytest.mark.parametrize(("query", "field", "zh", "en"), [
    ("minAmount=abc", "minAmount", "请输入以元为单位的金额", "Enter an amount in yuan"),
    ("maxAmount=-5", "maxAmount", "金额不能为负", "Enter an amount of 0 or more."),
    ("minAmount=1.234", "minAmount", "最多两位小数", "Use at most two decimal places."),
    ("minAmount=100&maxAmount=50", "maxAmount", "上限低于下限", "The upper amount is below the lower one."),
    ("createdFrom=2026-13-40", "createdFrom", "请按 YYYY-MM-DD", "Enter a date as YYYY-MM-DD"),
    ("deadlineTo=tomorrow", "deadlineTo", "请按 YYYY-MM-DD", "Enter a date as YYYY-MM-DD"),
    ("createdFrom=2026-05-02&createdTo=2026-05-01", "createdTo", "结束日期早于开始日期",
     "The end date is before the start date."),
    ("paymentStatus=UNPAID,BOGUS", "paymentStatus", "未知的状态", "Unknown status: BOGUS"),
    ("paymentType=NOPE", "paymentType", "未知的类型", "Unknown type: NOPE"),
    ("channel=NOT_A_CHANNEL", "channel", "请从列表中选择渠道", "Choose a channel from the list."),
])
def test_bad_filter_values_are_shown_next_to_the_field_in_the_users_language(orders, op1, query, field, zh, en):
    zh_page = op1.get(f"/orders?{query}")
    body = zh_page.get_data(as_text=True)
    assert zh_page.status_code == 422
    assert f'id="{field}-error"' in body and zh in body, body[body.find("field-error") - 300:][:800]
    assert listed(zh_page) == []
    en_page = op1.get(f"/orders?{query}&lang=en")
    assert en_page.status_code == 422 and en in en_page.get_data(as_text=True)
    partial = op1.get(f"/orders?{query}", headers={"HX-Request": "true"})
    assert partial.status_code == 422 and f'id="{field}-error"' in partial.get_data(as_text=True)


def test_empty_states_are_written_for_a_person(orders, op1, signed_in, app, make_reseller):
    body = op1.get("/orders?orderId=NOTHING-LIKE-THIS").get_data(as_text=True)
    assert 'data-testid="orders-empty"' in body and "没有符合筛选条件的支付单" in body
    en = op1.get("/orders?orderId=NOTHING-LIKE-THIS&lang=en").get_data(as_text=True)
    assert "No payment orders match these filters." in en


def test_english_and_chinese_list(orders, op1):
    zh = op1.get("/orders?lang=zh").get_data(as_text=True)
    assert "支付单" in zh and "未支付" in zh and "部分支付" in zh and "¥120,000.00" in zh
    en = op1.get("/orders?lang=en").get_data(as_text=True)
    assert "Payment orders" in en and "Partially paid" in en and "¥120,000.00" in en and "Final payment" in en


def test_staff_cannot_open_the_order_list(orders, signed_in):
    assert signed_in("finance@example.com").get("/orders").status_code == 403
    assert signed_in("admin@example.com").get("/orders").status_code == 403


# --- detail ----------------------------------------------------------------------------------------


def test_detail_of_another_resellers_order_is_404(orders, op1, signed_in):
    assert op1.get(f"/orders/{orders['x']}").status_code == 404
    assert op1.get("/orders/PAY-DOES-NOT-EXIST").status_code == 404
    assert signed_in("operator@r1002.example").get(f"/orders/{orders['a']}").status_code == 404
    assert signed_in("operator@r1002.example").get(f"/orders/{orders['x']}").status_code == 200


def test_detail_shows_amounts_progress_transactions_and_timeline(orders, op1):
    response = op1.get(f"/orders/{orders['b']}?lang=en")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-testid="progress-paid" value="500.50" max="2500.50"' in body
    assert 'data-testid="progress-refunded" value="0.00"' in body
    assert 'data-testid="transaction-row"' in body and "WALLET" in body
    assert 'data-testid="timeline-entry" data-to-status="UNPAID"' in body
    assert f'href="/checkout?ids={orders["b"]}"' in body
    paid = op1.get(f"/orders/{orders['c']}?lang=zh").get_data(as_text=True)
    assert 'data-testid="pay-order"' not in paid and "已支付" in paid


def test_detail_of_a_real_payment_links_merged_payment_and_credit(world, op1):
    body = op1.get(f"/orders/{world.credit_paid}?lang=en").get_data(as_text=True)
    assert f'href="/payments/{world.merged["CREDIT"]}"' in body
    assert 'data-testid="order-credit-records"' in body and world.credit_record_id in body
    assert 'data-testid="progress-paid" value="4000.00" max="4000.00"' in body
    assert [m for m in re.findall(r'data-to-status="(\w+)"', body)] == ["UNPAID", "PAYING", "PAID"]
    part = op1.get(f"/orders/{world.part_paid}?lang=en").get_data(as_text=True)
    assert 'data-testid="progress-paid" value="1000.00" max="3000.00"' in part and "¥2,000.00" in part
    repayment = op1.get(f"/orders/{world.repayment}?lang=en").get_data(as_text=True)
    assert 'data-testid="credit-record-link"' in repayment
    assert f'href="/credit?creditRecordId={world.credit_record_id}"' in repayment
    frozen = op1.get(f"/orders/{world.frozen}?lang=zh").get_data(as_text=True)
    assert "已冻结" in frozen and 'data-testid="pay-order"' not in frozen and "dispute" in frozen
    assert op1.get(f"/orders/{world.other}").status_code == 404


# --- exports ---------------------------------------------------------------------------------------


def export(client, query: str, fmt: str, token: str | None = None):
    token = token or csrf_token(client, "/orders")
    return client.post(f"/orders/export?{query}", data={"format": fmt, "csrf_token": token})


def csv_rows(response) -> list[list[str]]:
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:10]  # the BOM, for Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_csv_export_of_the_filtered_set(orders, op1):
    response = export(op1, "paymentStatus=UNPAID&sort=-amount&lang=zh", "csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="payment-orders-\d{8}-\d{4}\.csv"',
                        response.headers["Content-Disposition"])
    table = csv_rows(response)
    assert table[0][:6] == ["支付单号", "订单号", "支付类型", "支付状态", "退款状态", "金额"]
    assert [r[0] for r in table[1:]] == [orders[k] for k in "eag"]  # the list's filter and sort
    e = table[1]
    assert e[1] == "SO-E" and e[2] == "尾款" and e[3] == "未支付"
    assert e[5:10] == ["120000.00", "0.00", "0.00", "0.00", "120000.00"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", e[10])
    expected = (NOW + timedelta(days=40)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    assert e[10] == expected  # deadline in Asia/Shanghai
    assert e[14] == "'=HYPERLINK(\"http://evil\")"  # never a formula
    assert table[2][11] == "是" and table[1][11] == "否"  # SO-A is overdue


def test_csv_export_in_english_of_partial_payments(orders, op1):
    table = csv_rows(export(op1, "paymentStatus=PARTIAL_PAID&lang=en", "csv"))
    assert table[0][:3] == ["Payment ID", "Order ID", "Payment type"]
    assert table[1][:4] == [orders["b"], "SO-B", "Advance payment", "Partially paid"]
    assert table[1][5:10] == ["2500.50", "500.50", "0.00", "0.00", "2000.00"]


def test_xlsx_export_has_numbers_dates_and_no_formulas(orders, op1):
    response = export(op1, "orderId=SO-E,SO-B,SO-D&lang=en", "xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    ws = load_workbook(io.BytesIO(response.get_data())).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0][:2] == ("Payment ID", "Order ID") and len(values) == 4
    assert [r[0] for r in values[1:]] == [orders[k] for k in "edb"]
    e_row = list(ws.iter_rows(min_row=2, max_row=2))[0]
    assert e_row[5].value == 120000 and e_row[5].number_format == "#,##0.00" and e_row[5].data_type == "n"
    assert values[3][6] == pytest.approx(500.5)
    assert isinstance(e_row[10].value, datetime)
    assert e_row[10].value == (NOW + timedelta(days=40)).astimezone(SHANGHAI).replace(tzinfo=None)
    assert e_row[14].data_type == "s" and e_row[14].value.startswith("'=")


def test_export_is_scoped_checked_and_needs_the_token(orders, op1, signed_in):
    other = signed_in("operator@r1002.example")
    assert [r[0] for r in csv_rows(export(other, "", "csv"))[1:]] == [orders["y"], orders["x"]]
    assert op1.post("/orders/export", data={"format": "csv"}).status_code == 400  # no CSRF token
    assert export(op1, "", "pdf").status_code == 400
    bad = export(op1, "minAmount=abc", "csv")
    assert bad.status_code == 303 and bad.headers["Location"] == "/orders?minAmount=abc"
    assert signed_in("finance@example.com").post("/orders/export", data={"format": "csv"}).status_code in (400, 403)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_large_export_goes_through_the_worker_with_progress(orders, op1, signed_in, rq_worker, monkeypatch, app,
                                                            fmt):
    monkeypatch.setitem(app.config, "EXPORT_DIRECT_MAX_ROWS", 3)
    response = export(op1, "sort=amount&lang=en", fmt)
    assert response.status_code == 303
    progress_url = response.headers["Location"]
    job_id = re.fullmatch(r"/orders/exports/(export-[0-9a-f]{32})", progress_url).group(1)
    page = op1.get(progress_url).get_data(as_text=True)
    assert 'data-state="queued"' in page and 'hx-trigger="every 1s"' in page and "<html" in page
    assert op1.get(f"{progress_url}/download").status_code == 404  # not yet

    rq_worker()

    partial = op1.get(progress_url, headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in body
    assert 'data-state="done"' in body and "hx-trigger" not in body  # polling stops
    assert f'href="/orders/exports/{job_id}/download"' in body
    download = op1.get(f"{progress_url}/download")
    download.get_data()
    download.close()  # the file it was streamed from
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    expected = [orders[k] for k in "fdghabce"]
    if fmt == "csv":
        table = csv_rows(download)
        assert table[0][0] == "Payment ID" and [r[0] for r in table[1:]] == expected
    else:
        values = list(load_workbook(io.BytesIO(download.get_data())).active.iter_rows(values_only=True))
        assert values[0][0] == "Payment ID" and [r[0] for r in values[1:]] == expected
    from app.services.orders.export import EXPORT_QUEUE
    from app.services.platform.queues import queue

    with app.app_context():
        job = queue(EXPORT_QUEUE).fetch_job(job_id)
        assert job.meta["done"] == job.meta["total"] == 8 and job.meta["user_id"] is not None
    # only the user who asked may follow or download it
    for email in ("approver@r1001.example", "operator@r1002.example"):
        someone = signed_in(email)
        assert someone.get(progress_url).status_code == 404
        assert someone.get(f"{progress_url}/download").status_code == 404
    assert op1.get("/orders/exports/export-nothing").status_code == 404
    assert op1.get("/orders/exports/" + "export-" + "0" * 32).status_code == 404


def test_export_helpers_guard_formulas_and_carry_the_filter_to_the_worker():
    from datetime import date

    from app.services.orders import export as order_export
    from app.services.orders.queries import OrderFilter

    for text in ("=1+1", "+86 21", "-5", "@SUM(A1)", "\tx", "\rx"):
        assert order_export._safe_text(text) == "'" + text
    assert order_export._safe_text("SO-1=2") == "SO-1=2" and order_export._safe_text(None) == ""
    f = OrderFilter(reseller_id=7, order_ids=["A", "B"], payment_statuses=["UNPAID"], created_from=date(2026, 1, 2),
                    max_amount=Decimal("10.50"), channel="WALLET", overdue=True)
    assert order_export.filter_from_json(order_export.filter_to_json(f)) == f
    assert order_export.DIRECT_MAX_ROWS == 2000
