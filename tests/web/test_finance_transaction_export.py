"""Export of /finance/transactions as CSV or XLSX through the worker (low queue): the file holds exactly
the screen's filtered rows and totals, in the user's language, formula-safe, amounts as plain decimals;
a bad filter refuses it (error next to the field, nothing queued); only finance/admin, only the user
who asked may follow or download it; audited; memory stays bounded on a large set."""

from __future__ import annotations

import csv
import io
import os
import re
import tracemalloc
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.extensions import db
from app.models import AuditEntry, PaymentTransaction
from app.services.orders.export import EXPORT_QUEUE
from app.services.platform.queues import queue
from app.services.transactions import export as txn_export
from app.services.transactions.search import TransactionFilter
from tests.support.html import dom
from tests.support.screen_setup import in_app
from tests.support.statement_world import build_march
from tests.support.web import csrf_token

build = in_app(build_march)
FIN = "finance@example.com"


def _export(client, query: dict, fmt: str):
    token = csrf_token(client, "/finance/transactions")
    return client.post("/finance/transactions/export", query_string=query, data={"format": fmt, "csrf_token": token})


def _download(client, rq_worker, query: dict, fmt: str) -> tuple[list[list], str]:
    response = _export(client, query, fmt)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    progress_url = response.headers["Location"]
    job_id = re.fullmatch(r"/finance/transactions/exports/(export-[0-9a-f]{32})", progress_url).group(1)
    page = client.get(progress_url).get_data(as_text=True)
    assert 'data-state="queued"' in page and 'hx-trigger="every 1s"' in page
    assert client.get(f"{progress_url}/download").status_code == 404  # not yet
    rq_worker(EXPORT_QUEUE)  # the export runs on the low queue (the documents of the world wait)
    body = client.get(progress_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-state="done"' in body and "hx-trigger" not in body and "<html" not in body
    download = client.get(f"{progress_url}/download")
    raw = download.get_data()
    download.close()
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    if fmt == "csv":
        assert raw.startswith(b"\xef\xbb\xbf")
        return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))), job_id
    return [list(r) for r in load_workbook(io.BytesIO(raw)).active.iter_rows(values_only=True)], job_id


def _money(text: str) -> Decimal:
    return Decimal(text.replace("¥", "").replace(",", ""))


QUERIES = [
    {},
    {"kind": "REFUND"},
    {"status": "SUCCESS", "kind": "PAYMENT", "channel": "WALLET"},
    {"createdFrom": "2026-03-01", "createdTo": "2026-03-31"},
    {"minAmount": "100.00", "maxAmount": "100.00"},
    {"reseller": "R1002"},
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("query", QUERIES)
def test_the_file_holds_the_screens_rows_and_totals(portal, signed_in, rq_worker, query, fmt):
    build()
    client = signed_in(FIN)
    screen = dom(client.get("/finance/transactions", query_string={**query, "lang": "en"}))
    table, _job = _download(client, rq_worker, {**query, "lang": "en"}, fmt)
    assert table[0][:3] == ["Transaction", "Kind", "Status"] and table[0][9] == "Amount"
    rows = table[1:]
    assert [r[0] for r in rows] == [r["data-id"] for r in screen.all("txn-row")]
    assert len(rows) == int(screen.one("txn-count").text)
    if fmt == "csv":
        assert all(re.fullmatch(r"\d+\.\d{2}", r[9]) for r in rows)  # plain decimal text, two places
    amounts = [Decimal(str(r[9])) for r in rows]
    received = sum((a for a, r in zip(amounts, rows, strict=True) if r[1:3] == ["Payment", "Succeeded"]), Decimal(0))
    refunded = sum((a for a, r in zip(amounts, rows, strict=True) if r[1:3] == ["Refund", "Succeeded"]), Decimal(0))
    assert received == _money(screen.one("txn-received").text)
    assert refunded == _money(screen.one("txn-refunded").text)
    assert received - refunded == _money(screen.one("txn-net").text)


def test_chinese_headers_formula_guard_audit_and_owner(portal, signed_in, rq_worker, app):
    build()
    with app.app_context():  # a channel transaction id a spreadsheet would run as a formula
        db.session.execute(sa.update(PaymentTransaction).where(PaymentTransaction.transaction_type == "REFUND")
                           .values(channel_transaction_id='=HYPERLINK("http://evil")'))
        db.session.commit()
    client = signed_in(FIN)
    table, job_id = _download(client, rq_worker, {"kind": "REFUND", "lang": "zh"}, "csv")
    assert table[0][:3] == ["流水号", "类别", "状态"] and table[0][9] == "金额"
    assert table[1][1:3] == ["退款", "成功"] and table[1][8] == "'=HYPERLINK(\"http://evil\")"
    xlsx, _job = _download(client, rq_worker, {"kind": "REFUND", "lang": "zh"}, "xlsx")
    assert xlsx[1][8] == "'=HYPERLINK(\"http://evil\")" and xlsx[1][9] == 100
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_id == job_id)))
        assert sorted(actions) == ["transactions.export", "transactions.export_downloaded"]
    other = signed_in("admin@example.com")  # finance/admin, but not the one who asked
    assert other.get(f"/finance/transactions/exports/{job_id}").status_code == 404
    assert other.get(f"/finance/transactions/exports/{job_id}/download").status_code == 404
    reseller = signed_in("operator@r1001.example")
    assert reseller.get(f"/finance/transactions/exports/{job_id}").status_code == 403
    assert reseller.get(f"/finance/transactions/exports/{job_id}/download").status_code == 403


@pytest.mark.parametrize(("query", "field"), [({"minAmount": "1.234"}, "minAmount"),
                                              ({"createdFrom": "2026-13-01"}, "createdFrom"),
                                              ({"channel": "NOPE"}, "channel"),
                                              ({"minAmount": "5", "maxAmount": "1"}, "maxAmount")])
def test_a_bad_filter_refuses_the_export_and_queues_nothing(portal, signed_in, rq_worker, app, query,
                                                            field):
    build()
    client = signed_in(FIN)
    response = _export(client, {**query, "lang": "en"}, "csv")
    assert response.status_code == 422
    page = dom(response)
    assert page.one(f"txn-error-{field}").text
    assert not page.all("export-csv")  # no export offered while a filter is wrong
    with app.app_context():
        assert queue(EXPORT_QUEUE).count == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "transactions.export")) == 0


def test_only_finance_and_admin_with_a_token_and_a_known_format(portal, signed_in, rq_worker, app):
    build()
    reseller = signed_in("operator@r1001.example")
    token = csrf_token(signed_in(FIN), "/finance/transactions")
    assert reseller.post("/finance/transactions/export", data={"format": "csv", "csrf_token": token}
                         ).status_code in (400, 403)
    fin = signed_in(FIN)
    assert fin.post("/finance/transactions/export", data={"format": "csv"}).status_code == 400  # no CSRF token
    assert _export(fin, {}, "pdf").status_code == 400
    assert fin.get("/finance/transactions/exports/export-nothing").status_code == 404
    with app.app_context():
        assert queue(EXPORT_QUEUE).count == 0
    page = dom(fin.get("/finance/transactions?lang=en&kind=REFUND&minAmount=1.00&page=1"))
    assert page.one("export-csv").text == "Export CSV" and page.one("export-xlsx").text == "Export XLSX"
    assert page.one("txn-export")["action"] == "/finance/transactions/export?kind=REFUND&minAmount=1.00"
    zh = dom(fin.get("/finance/transactions?lang=zh"))
    assert zh.one("export-csv").text == "导出 CSV" and zh.one("export-xlsx").text == "导出 XLSX"


def _grow(n: int, first: int = 0) -> None:
    """``n`` more successful payments, copies of one of the March world's."""
    t = PaymentTransaction.__table__
    proto = db.session.execute(sa.select(t).where(t.c.transaction_type == "PAYMENT").limit(1)).mappings().one()
    base = {k: v for k, v in proto.items() if k != "id"}
    for start in range(first, first + n, 1000):
        db.session.execute(sa.insert(t), [{**base, "transaction_id": f"TXBIG{i:012d}"}
                                          for i in range(start, min(first + n, start + 1000))])
    db.session.commit()


def _peak(fmt: str, tmp_path, name: str) -> tuple[int, int]:
    rows = [0]
    tracemalloc.start()
    try:
        if fmt == "csv":
            with open(tmp_path / name, "wb") as out:
                for chunk in txn_export.spreadsheet.csv_chunks(txn_export.headers(),
                                                               txn_export.iter_values(TransactionFilter())):
                    out.write(chunk)
        else:
            txn_export.spreadsheet.write_xlsx(tmp_path / name, "t", txn_export.headers(),
                                              txn_export.iter_values(TransactionFilter()),
                                              progress=lambda n: rows.__setitem__(0, n))
        return tracemalloc.get_traced_memory()[1], rows[0]
    finally:
        tracemalloc.stop()


# The XLSX writer's memory does not depend on the database (the rows' streaming does, and CSV checks
# that on both): its 12,000 traced rows (~35 s) run in the PostgreSQL lane only.
_ON_SQLITE = not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")


@pytest.mark.parametrize("fmt", ["csv", pytest.param("xlsx", marks=pytest.mark.skipif(
    _ON_SQLITE, reason="the XLSX writer's bounded memory is checked in the PostgreSQL lane"))])
def test_a_large_set_is_streamed_in_bounded_memory(portal, app, tmp_path, fmt):
    build()
    with app.test_request_context("/?lang=en"):
        _grow(3000)
        small, _n = _peak(fmt, tmp_path, "small")
        _grow(9000, first=3000)
        large, n = _peak(fmt, tmp_path, "large")
    if fmt == "xlsx":
        assert n == 12005
    # four times the rows, not four times the memory: rows are streamed, never all held
    assert large < small * 1.3, (small, large)  # holding the 12,000 rows would add several MB
    assert large < 8_000_000
