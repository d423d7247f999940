"""Batch payouts (批量付款) on /finance/disbursements through the test client with CSRF on: uploads in
every accepted form (CSV UTF-8 with and without BOM, GBK with Chinese headings, XLSX), every bad input
refused with the error next to its row in zh and en and nothing stored (a test each), the preview and
submit, and the approval rules (never the uploader, a reason to reject, one decision). The run itself
is tested against the real gateway in tests/engine/test_disbursement_batches.py."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.errors import ValidationFailed
from app.extensions import db
from app.models import AuditEntry, Disbursement, DisbursementBatch, DisbursementBatchRow
from app.services.payouts import batch_run
from app.services.payouts import creation as payouts
from app.services.payouts import merchants as payout_merchants
from app.services.payouts import request as payout_request
from app.services.platform.actor import Actor
from tests.support.batch_files import HEADER_ZH, csv_bytes, payees, xlsx_bytes
from tests.support.screen_setup import add_online_channel, count, in_app, post
from tests.support.web import csrf_token

ADMIN = Actor(type="system", id="test")


@in_app
def add_merchant(merchant_id: str = "M1001", single: str = "50000.00", active: bool = True,
                 daily: str = "10000000.00") -> None:
    payout_merchants.upsert_merchant(ADMIN, merchant_id, f"付款账户 {merchant_id}", Decimal(single),
                                     Decimal(daily), active)


@in_app
def batch(batch_no: str) -> DisbursementBatch:
    b = db.session.scalar(sa.select(DisbursementBatch).where(DisbursementBatch.batch_no == batch_no))
    db.session.expunge(b)
    return b


def stored() -> tuple:
    return count(DisbursementBatch), count(DisbursementBatchRow), count(Disbursement), count(AuditEntry)


@pytest.fixture
def desk(portal, signed_in):
    add_online_channel()
    add_merchant()
    add_merchant("M2002", single="1000.00")
    client = signed_in("finance@example.com")
    return client, csrf_token(client, "/finance/disbursements")


def upload(client, token, data: bytes, name: str = "payees.csv", merchant: str = "M1001", lang: str = "en"):
    return client.post(f"/finance/disbursements/batches?lang={lang}", content_type="multipart/form-data",
                       data={"csrf_token": token, "merchantId": merchant, "file": (io.BytesIO(data), name)})


def batch_no_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    match = re.search(r"/finance/disbursements/batches/(BT\d+)$", response.headers["Location"])
    assert match
    return match.group(1)


def row_errors(body: str) -> dict[int, str]:
    found = re.findall(r'data-testid="batch-row-error" data-row="(\d+)"[^>]*>(.*?)</tr>', body, re.S)
    return {int(n): re.sub(r"<[^>]+>", " ", html) for n, html in found}


# --- good files -------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, name", [
    (csv_bytes(payees(3)), "utf8.csv"),
    (csv_bytes(payees(3), bom=True), "bom.csv"),
    (csv_bytes(payees(3), HEADER_ZH, encoding="gbk"), "gbk.csv"),
    (xlsx_bytes([[n, int(a), b, float(m), p] for n, a, b, m, p in payees(3)]), "payees.xlsx"),
    (xlsx_bytes(payees(3)), "named-anything.bin"),  # recognised by content, not name
])
def test_a_good_file_in_every_accepted_form_becomes_a_draft_with_its_preview(desk, data, name):
    client, token = desk
    response = upload(client, token, data, name)
    number = batch_no_of(response)
    b = batch(number)
    assert (b.status, b.row_count, b.total_amount) == ("DRAFT", 3, Decimal("300.00"))
    page = client.get(response.headers["Location"] + "?lang=zh").get_data(as_text=True)
    assert 'data-count="3" data-total="300.00"' in page and 'data-testid="batch-submit"' in page
    assert "供应商001" in page and "6222 **** **** 0001" in page and "6222020200000001" not in page
    assert count(Disbursement) == 0
    assert count(AuditEntry, AuditEntry.action == "disbursement_batch.upload", AuditEntry.target_id == number) == 1


def test_amount_text_as_finance_types_it_is_accepted(desk):
    client, token = desk
    rows = [["张三", "6222 0202 0000 0001", "icbc", "1,250.5", ""], ["李四", "6222020200000002", "CMB", "¥3", "工资"]]
    number = batch_no_of(upload(client, token, csv_bytes(rows)))
    assert batch(number).total_amount == Decimal("1253.50")


# --- bad files: refused, errors next to their rows, nothing stored ------------------------------------

def _refused(client, token, data, lang="en", merchant="M1001") -> str:
    before = stored()
    response = upload(client, token, data, merchant=merchant, lang=lang)
    body = response.get_data(as_text=True)
    assert response.status_code == 422, body[:2000]
    assert stored() == before
    return body


BAD_ROWS = {
    "three decimals": (["王五", "6222020200000009", "ICBC", "10.005", ""], "more than two decimals", "两位小数"),
    "negative": (["王五", "6222020200000009", "ICBC", "-10.00", ""], "greater than 0", "大于 0"),
    "zero": (["王五", "6222020200000009", "ICBC", "0.00", ""], "greater than 0", "大于 0"),
    "above single limit": (["王五", "6222020200000009", "ICBC", "50000.01", ""], "single-payout limit of ¥50000.00",
                           "单笔代付限额"),
    "bad account": (["王五", "6222-0202-XX", "ICBC", "10.00", ""], "6–32 digits", "6–32 位数字"),
    "short account": (["王五", "12345", "ICBC", "10.00", ""], "6–32 digits", "6–32 位数字"),
    "unknown bank": (["王五", "6222020200000009", "HSBC", "10.00", ""], "Unknown bank code", "银行代码"),
    "no name": (["", "6222020200000009", "ICBC", "10.00", ""], "Payee name is missing", "收款人"),
    "not an amount": (["王五", "6222020200000009", "ICBC", "十元", ""], "Enter the amount in yuan", "金额"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_refuses_the_file_with_the_error_next_to_it(desk, case):
    client, token = desk
    bad, en, zh = BAD_ROWS[case]
    rows = payees(4)
    rows.insert(2, bad)  # data row 3
    for lang, text in (("en", en), ("zh", zh)):
        errors = row_errors(_refused(client, token, csv_bytes(rows), lang))
        assert list(errors) == [3], errors
        assert text in errors[3], (lang, errors[3])


def test_duplicate_rows_are_refused_naming_the_first(desk):
    client, token = desk
    rows = payees(3)
    rows.append(list(rows[0]))  # data row 4 repeats row 1
    errors = row_errors(_refused(client, token, csv_bytes(rows)))
    assert list(errors) == [4] and "repeats row 1" in errors[4]
    assert "重复第 1 行" in row_errors(_refused(client, token, csv_bytes(rows), "zh"))[4]


def test_every_bad_row_is_shown_at_once(desk):
    client, token = desk
    rows = payees(10)
    rows[1][3] = "1.001"
    rows[6][1] = "abc"
    rows[6][2] = "XYZ"
    errors = row_errors(_refused(client, token, csv_bytes(rows)))
    assert sorted(errors) == [2, 7]
    assert "two decimals" in errors[2] and "6–32 digits" in errors[7] and "Unknown bank code" in errors[7]


def test_the_single_limit_is_the_chosen_merchants(desk):
    client, token = desk
    rows = payees(2, amount="1000.01")
    errors = row_errors(_refused(client, token, csv_bytes(rows), merchant="M2002"))
    assert sorted(errors) == [1, 2] and "¥1000.00" in errors[1]


@pytest.mark.parametrize("data, en, zh", [
    ("收款人,收款账号,金额\n张三,6222020200000001,10.00\n".encode(), "Columns missing from the header row: bankCode",
     "表头缺少以下列"),
    ("收款人,收款账号,银行代码,金额,备注\n张三,6222020200000001,ICBC,10.00,x\n".encode(), "Unknown columns",
     "未知的列"),
    ("收款人,收款账号,银行代码,金额\n张三,6222020200000001,ICBC,10.00\n".encode("utf-16"), "neither UTF-8 nor GBK",
     "既不是 UTF-8"),
    (b"bankAccountName,bankAccountNo,bankCode,amount\n\x81\xff\xfe,6222020200000001,ICBC,10.00\n",
     "neither UTF-8 nor GBK", "既不是 UTF-8"),
    (b"bankAccountName,bankAccountNo,bankCode,amount\n", "no payee rows", "没有收款行"),
    (b"", "no payee rows", "没有收款行"),
    (b"PK\x03\x04not really a workbook", "cannot be read", "无法读取"),
])
def test_a_file_that_cannot_be_read_is_refused_with_a_clear_error(desk, data, en, zh):
    client, token = desk
    for lang, text in (("en", en), ("zh", zh)):
        body = _refused(client, token, data, lang)
        match = re.search(r'id="file-error" role="alert">([^<]*)<', body)
        assert match and text in match.group(1), (lang, match and match.group(1))


def test_no_file_or_an_inactive_merchant_is_refused(desk):
    client, token = desk
    add_merchant("M3003", active=False)
    before = stored()
    response = client.post("/finance/disbursements/batches?lang=en", content_type="multipart/form-data",
                           data={"csrf_token": token, "merchantId": "M1001"})
    assert response.status_code == 422 and "Choose the payee file" in response.get_data(as_text=True)
    response = upload(client, token, csv_bytes(payees(1)), merchant="M3003")
    assert response.status_code == 422 and "active payout merchant" in response.get_data(as_text=True)
    assert stored() == before


def test_the_upload_needs_the_csrf_token_and_finance(desk, signed_in):
    client, _ = desk
    operator = signed_in("operator@r1001.example")
    operator_token = csrf_token(operator, "/wallet")
    before = stored()
    response = client.post("/finance/disbursements/batches", content_type="multipart/form-data",
                           data={"merchantId": "M1001", "file": (io.BytesIO(csv_bytes(payees(1))), "a.csv")})
    assert response.status_code == 400
    response = upload(operator, operator_token, csv_bytes(payees(1)))
    assert response.status_code == 403
    assert stored() == before


# --- submit and the approval rules ---------------------------------------------------------------------

@pytest.fixture
def pending(desk):
    client, token = desk
    number = batch_no_of(upload(client, token, csv_bytes(payees(3))))
    assert post(client, f"/finance/disbursements/batches/{number}/submit", {}, token).status_code == 302
    assert batch(number).status == "PENDING"
    return number


def test_the_uploader_can_neither_approve_nor_reject(desk, pending):
    client, token = desk
    before = stored()
    for lang, text in (("en", "a second finance user must approve or reject it"), ("zh", "必须由另一位财务人员")):
        for action, data in (("approve", {}), ("reject", {"reason": "自己拒绝"})):
            response = post(client, f"/finance/disbursements/batches/{pending}/{action}", data, token, lang=lang)
            body = response.get_data(as_text=True)
            assert response.status_code == 403 and text in body, (lang, action)
    assert batch(pending).status == "PENDING" and stored() == before
    page = client.get(f"/finance/disbursements/batches/{pending}?lang=en").get_data(as_text=True)
    assert "you cannot approve it" in page


def test_a_second_finance_user_approves_once(desk, pending, signed_in):
    second = signed_in("finance2@example.com")
    token = csrf_token(second, "/finance/disbursements")
    response = post(second, f"/finance/disbursements/batches/{pending}/approve", {}, token)
    assert response.status_code == 302
    b = batch(pending)
    assert b.status == "RUNNING" and b.decided_by_user_id is not None
    assert count(AuditEntry, AuditEntry.action == "disbursement_batch.approve") == 1
    again = post(second, f"/finance/disbursements/batches/{pending}/approve?lang=en", {}, token)
    assert again.status_code == 409 and "Nothing was changed" in again.get_data(as_text=True)
    assert count(AuditEntry, AuditEntry.action == "disbursement_batch.approve") == 1
    page = second.get(f"/finance/disbursements/batches/{pending}").get_data(as_text=True)
    assert 'data-testid="batch-progress"' in page and 'data-total="3"' in page and 'hx-trigger="every 2s"' in page


def test_rejecting_needs_a_reason_and_then_nothing_is_paid(desk, pending, signed_in):
    second = signed_in("finance2@example.com")
    token = csrf_token(second, "/finance/disbursements")
    before = stored()
    for lang, text in (("en", "Give the reason for rejecting the batch."), ("zh", "请填写拒绝该批次的原因")):
        response = post(second, f"/finance/disbursements/batches/{pending}/reject", {"reason": "  "}, token, lang=lang)
        assert response.status_code == 422
        assert re.search(rf'id="reason-error" role="alert">{re.escape(text)}', response.get_data(as_text=True))
    assert stored() == before and batch(pending).status == "PENDING"
    response = post(second, f"/finance/disbursements/batches/{pending}/reject", {"reason": "金额与合同不符"}, token)
    assert response.status_code == 302
    b = batch(pending)
    assert (b.status, b.reject_reason) == ("REJECTED", "金额与合同不符")
    assert count(Disbursement) == 0
    approve = post(second, f"/finance/disbursements/batches/{pending}/approve", {}, token)
    assert approve.status_code == 409 and batch(pending).status == "REJECTED"


def test_a_draft_cannot_be_approved_and_only_its_uploader_submits_it(desk, signed_in):
    client, token = desk
    number = batch_no_of(upload(client, token, csv_bytes(payees(2))))
    second = signed_in("finance2@example.com")
    token2 = csrf_token(second, "/finance/disbursements")
    assert post(second, f"/finance/disbursements/batches/{number}/approve", {}, token2).status_code == 409
    assert post(second, f"/finance/disbursements/batches/{number}/submit", {}, token2).status_code == 409
    assert batch(number).status == "DRAFT"


def test_unknown_batches_are_404(desk):
    client, token = desk
    assert client.get("/finance/disbursements/batches/BT000").status_code == 404
    for action in ("submit", "approve", "resubmit"):
        assert post(client, f"/finance/disbursements/batches/BT000/{action}", {}, token).status_code == 404
    assert client.get("/finance/disbursements/batches/BT000/result.csv").status_code == 404


def test_the_template_and_the_list(desk, pending):
    client, _ = desk
    template = client.get("/finance/disbursements/batches/template.csv")
    assert template.status_code == 200 and template.headers["X-Content-Type-Options"] == "nosniff"
    assert template.get_data().decode("utf-8-sig").startswith("收款人,收款账号,银行代码,金额,用途")
    page = client.get("/finance/disbursements").get_data(as_text=True)
    assert f'data-batch-no="{pending}" data-status="PENDING"' in page
    assert 'data-testid="batch-merchant"' in page and 'data-testid="batch-upload-file"' in page


def test_an_xlsx_number_with_three_decimals_is_refused_too(desk):
    client, token = desk
    rows = [[n, int(a), b, float(m), p] for n, a, b, m, p in payees(3)]
    rows[1][3] = 10.005
    errors = row_errors(_refused(client, token, xlsx_bytes(rows)))
    assert list(errors) == [2] and "two decimals" in errors[2]


# --- a completed batch: its files and its failed rows again ---------------------------------------------

@in_app
def _run(number: str) -> None:
    batch_run.run(number)


def test_failed_rows_download_audited_go_again_and_the_result_file_is_masked(desk, signed_in):
    client, token = desk
    add_merchant("M4004", single="1000.00", daily="50.00")  # every row of 100.00 is above the daily limit
    number = batch_no_of(upload(client, token, csv_bytes(payees(3)), merchant="M4004"))
    post(client, f"/finance/disbursements/batches/{number}/submit", {}, token)
    second = signed_in("finance2@example.com")
    token2 = csrf_token(second, "/finance/disbursements")
    assert post(second, f"/finance/disbursements/batches/{number}/approve", {}, token2).status_code == 302
    _run(number)
    assert batch(number).status == "COMPLETED" and count(Disbursement) == 0
    page = client.get(f"/finance/disbursements/batches/{number}?lang=en").get_data(as_text=True)
    assert 'data-succeeded="0" data-failed="3"' in page and 'data-total="3"' in page
    main = page.split("</header>", 1)[1]  # the header's notification count polls on every page
    assert 'hx-trigger' not in main and "daily limit" in page and 'data-testid="batch-resubmit"' in page

    result = client.get(f"/finance/disbursements/batches/{number}/result.csv")
    assert result.status_code == 200 and result.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in result.headers["Content-Disposition"]
    text = result.get_data().decode("utf-8-sig")
    assert "6222 **** **** 0001" in text and "6222020200000001" not in text and ",FAILED," in text

    failed = client.get(f"/finance/disbursements/batches/{number}/failed.csv")
    body = failed.get_data()
    assert failed.status_code == 200 and "6222020200000001" in body.decode("utf-8-sig")
    assert count(AuditEntry, AuditEntry.action == "disbursement_batch.export_failed") == 1
    # the failed rows' file uploads again as it is
    again = batch_no_of(upload(client, token, body, "failed.csv"))
    assert (batch(again).row_count, batch(again).total_amount) == (3, Decimal("300.00"))

    response = post(client, f"/finance/disbursements/batches/{number}/resubmit", {}, token)
    copy = batch_no_of(response)
    b = batch(copy)
    assert (b.status, b.row_count, b.resubmitted_from) == ("DRAFT", 3, number)


def test_an_api_client_may_not_use_the_batch_request_ids(desk):
    with pytest.raises(ValidationFailed, match="batch:"):
        in_app(payouts.create)(ADMIN, payout_request.DisbursementRequest(
            request_id="batch:BT1:1", merchant_id="M1001", bank_account_no="6222020200000001",
            bank_account_name="张三", bank_code="ICBC", amount=Decimal("1.00")))
    assert count(Disbursement) == 0
