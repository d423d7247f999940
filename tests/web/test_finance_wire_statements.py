"""The bank statement upload on /finance/reconciliation through the test client with CSRF on: the
statement comes from the real sandbox bank; the preview shows the detected format and encoding and
the first lines and stores nothing; "import and match" confirms the wire its memo names (no voucher)
and lists the line without a reference as an unidentified receipt (``unidentified-row`` with
``data-amount``); a refused file names the line and column next to the field and stores nothing."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest

from app.domain.timeutil import shanghai_today
from app.models import BankReceipt
from tests.support.screen_setup import (
    add_wire_channel,
    channel_payment_status,
    count,
    make_order,
    order,
    wire_payment,
)
from tests.support.web import csrf_token

URL = "/finance/reconciliation"
OURS = "6222020200112233445"


@pytest.fixture
def desk(portal, signed_in, gateway):
    gateway.reset()
    add_wire_channel()
    client = signed_in("finance@example.com")
    return client, csrf_token(client, URL), gateway


def _upload(client, token, data: bytes, name: str = "statement.csv", lang: str = "en"):
    return client.post(f"{URL}/statements/preview?lang={lang}", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(data), name)})


def _held_token(body: str) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', body).group(1)


def test_preview_then_import_confirms_the_wire_and_lists_the_unidentified(desk):
    client, token, gw = desk
    pid = make_order(amount="1000.00")
    cp = wire_payment([(pid, "1000.00")])
    day = shanghai_today().isoformat()
    wide = "".join(chr(ord(c) + 0xFEE0) for c in cp.wire_reference)
    gw.receive_wire(OURS, "华东设备", "6217000011112222", "1000.00", f"货款 {wide[:4]} {wide[4:]}", value_date=day)
    gw.receive_wire(OURS, "Unknown Ltd", "6217000099990000", "321.50", "deposit", value_date=day)
    data = gw.bank_statement(OURS, day, "csv", "gbk")

    preview = _upload(client, token, data, "工行流水.csv")
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200, body[:500]
    assert re.search(r'data-testid="recon-upload-preview" data-format="CSV" data-encoding="GBK" data-lines="2"', body)
    assert body.count('data-testid="recon-preview-row"') == 2 and "321.50" in body
    assert count(BankReceipt) == 0 and channel_payment_status(cp.id) == "PROCESSING"  # nothing stored yet

    done = client.post(f"{URL}/statements/import?lang=en", data={"csrf_token": token, "token": _held_token(body)})
    assert done.status_code == 302
    assert channel_payment_status(cp.id) == "SUCCESS" and order(pid).paid_amount == Decimal("1000.00")
    page = client.get(URL + "?lang=en").get_data(as_text=True)
    assert "1 wire(s) confirmed, 1 unidentified receipt(s)" in page
    assert re.findall(r'data-testid="unidentified-row" data-amount="([^"]+)"', page) == ["321.50"]
    assert "No reference code in the memo" in page
    assert "未识别来款" in client.get(URL + "?lang=zh").get_data(as_text=True)

    again = client.post(f"{URL}/statements/import?lang=en", data={"csrf_token": token, "token": _held_token(body)})
    assert again.status_code == 422 and "expired or was already imported" in again.get_data(as_text=True)
    assert count(BankReceipt) == 2


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "The file is empty."),
    ("交易日期,金额\n2026-11-25,10.00\n".encode("gbk"), "is missing"),
])
def test_a_refused_file_names_the_problem_next_to_the_field_and_stores_nothing(desk, data, expected):
    client, token, _ = desk
    response = _upload(client, token, data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and expected in body
    assert 'id="file-error"' in body and 'aria-invalid="true"' in body
    assert "recon-upload-preview" not in body and count(BankReceipt) == 0


def test_a_statement_for_another_account_is_refused_with_its_line_and_column(desk):
    client, token, gw = desk
    day = shanghai_today().isoformat()
    gw.receive_wire("6222020200999999999", "Other", "6217000011114444", "5.00", "x", value_date=day)
    response = _upload(client, token, gw.bank_statement("6222020200999999999", day, "csv", "gbk"), lang="zh")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r"第 3 行，第 1 列（本方账号）：账号 6222020200999999999 不是我方电汇收款账户。", body)
    assert count(BankReceipt) == 0


def test_no_file_is_an_error_in_the_users_language(desk):
    client, token, _ = desk
    response = client.post(f"{URL}/statements/preview?lang=zh", content_type="multipart/form-data",
                           data={"csrf_token": token})
    assert response.status_code == 422 and "请选择要上传的银行对账单文件。" in response.get_data(as_text=True)
