"""/finance/vouchers: the wire desk through the test client with CSRF on — the three outcomes of
docs/DOMAIN.md §5, rejection, bad inputs, a double confirmation by two finance users, and the voucher file
(who may see it, and how it is served)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest

from app.models import AuditEntry, WalletEntry
from app.models.types import now_utc
from tests.support.screen_setup import (
    HTMX,
    PDF,
    PNG,
    add_wire_channel,
    channel_payment_status,
    count,
    make_order,
    order,
    post,
    replace_voucher_bytes,
    snapshot,
    upload,
    user_id,
    voucher,
    wallet_of,
    wire_payment,
)
from tests.support.web import csrf_token


@pytest.fixture
def desk(app, portal, signed_in, tmp_path, monkeypatch):
    """The WIRE channel, vouchers stored under tmp_path, and a signed-in finance client with its token."""
    add_wire_channel()
    client = signed_in("finance@example.com")
    return client, csrf_token(client, "/finance/vouchers")



# --- the queue -----------------------------------------------------------------------------------

def test_queue_shows_each_pending_voucher_with_its_reference_expected_amount_and_orders(desk):
    client, _ = desk
    a, b = make_order(amount="600.00"), make_order(amount="400.00")
    cp = wire_payment([(a, "600.00"), (b, "400.00")])
    vid = upload(cp)
    body = client.get("/finance/vouchers").get_data(as_text=True)
    rows = re.findall(r'data-testid="voucher-row" data-reference="([^"]+)"', body)
    assert rows == [cp.wire_reference]
    assert "¥1,000.00" in body and a in body and b in body
    assert f"/vouchers/{vid}/pdf" in body and 'data-testid="voucher-received-amount"' in body
    assert 'data-testid="voucher-confirm"' in body and 'data-testid="voucher-reject"' in body
    assert "<script>" not in body and " style=" not in body
    # the search by reference, as a fragment for HTMX
    fragment = client.get(f"/finance/vouchers?reference={cp.wire_reference}", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    assert 'data-testid="voucher-row"' not in client.get("/finance/vouchers?reference=NOPE").get_data(as_text=True)


def test_only_finance_opens_the_desk(app, desk, signed_in):
    assert app.test_client().get("/finance/vouchers").status_code == 302
    for email in ("operator@r1001.example", "approver@r1001.example", "admin@example.com"):
        assert signed_in(email).get("/finance/vouchers").status_code == 403


# --- the three outcomes ----------------------------------------------------------------------------

def test_exact_amount_pays_every_order(desk):
    client, token = desk
    a, b = make_order(amount="600.00"), make_order(amount="400.00")
    vid = upload(wire_payment([(a, "600.00"), (b, "400.00")]))
    before = wallet_of("R1001")
    response = post(client, f"/finance/vouchers/{vid}/confirm", {"receivedAmount": "1000.00"}, token)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="flash"' in page and "¥1,000.00" in page
    assert order(a).payment_status == "PAID" and order(b).payment_status == "PAID"
    assert voucher(vid).status == "CONFIRMED" and voucher(vid).received_amount == Decimal("1000.00")
    assert wallet_of("R1001") == before
    assert count(AuditEntry, AuditEntry.action == "voucher.confirm") == 1


def test_larger_amount_credits_the_excess_to_the_wallet(desk):
    client, token = desk
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]))
    before = wallet_of("R1001")
    response = post(client, f"/finance/vouchers/{vid}/confirm", {"receivedAmount": "1,250.50"}, token, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="flash"' in body
    assert "¥250.50" in body and 'data-status="CONFIRMED"' in body
    assert order(a).payment_status == "PAID"
    assert wallet_of("R1001") == before + Decimal("250.50")
    assert count(WalletEntry, WalletEntry.entry_type == "EXCESS", WalletEntry.amount == Decimal("250.50")) == 1


def test_smaller_amount_needs_a_choice_then_is_applied_earliest_deadline_first(desk):
    client, token = desk
    late = make_order(amount="500.00", deadline=now_utc() + timedelta(days=30))
    soon = make_order(amount="300.00", deadline=now_utc() + timedelta(days=2))
    vid = upload(wire_payment([(late, "500.00"), (soon, "300.00")]))
    before = snapshot([late, soon], vid)
    response = post(client, f"/finance/vouchers/{vid}/confirm", {"receivedAmount": "450.00"}, token, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="shortfall-{vid}-error"' in body and "¥800.00" in body  # 只收到 … 请选择
    assert snapshot([late, soon], vid) == before
    response = post(client, f"/finance/vouchers/{vid}/confirm", {"receivedAmount": "450.00", "shortfall": "accept"},
                    token)
    assert response.status_code == 302
    assert order(soon).payment_status == "PAID"
    assert order(late).paid_amount == Decimal("150.00") and order(late).payment_status == "PARTIAL_PAID"
    assert order(late).reserved_amount == 0
    assert voucher(vid).status == "CONFIRMED"


def test_smaller_amount_can_fail_the_transfer_and_the_reseller_sees_why(desk):
    client, token = desk
    a = make_order(amount="1000.00")
    cp = wire_payment([(a, "1000.00")])
    vid = upload(cp)
    response = post(client, f"/finance/vouchers/{vid}/confirm", {"receivedAmount": "10.00", "shortfall": "reject"},
                    token, htmx=True, lang="en")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Rejected" in body and 'data-status="REJECTED"' in body
    o = order(a)
    assert (o.paid_amount, o.reserved_amount, o.payment_status) == (0, 0, "FAILED")  # the attempt failed
    v = voucher(vid)
    assert v.status == "REJECTED" and "10.00" in v.reject_reason
    assert channel_payment_status(cp.id) == "FAILED"


def test_reject_with_a_reason_keeps_the_transfer_open_for_a_new_voucher(desk):
    client, token = desk
    a = make_order(amount="1000.00")
    cp = wire_payment([(a, "1000.00")])
    vid = upload(cp)
    response = post(client, f"/finance/vouchers/{vid}/reject", {"reason": "  银行流水中未找到该笔汇款  "}, token)
    assert response.status_code == 302
    v = voucher(vid)
    assert v.status == "REJECTED" and v.reject_reason == "银行流水中未找到该笔汇款"
    assert order(a).payment_status == "PAYING" and order(a).reserved_amount == Decimal("1000.00")
    assert count(AuditEntry, AuditEntry.action == "voucher.reject") == 1
    rejected = client.get("/finance/vouchers?status=REJECTED").get_data(as_text=True)
    assert "银行流水中未找到该笔汇款" in rejected and 'data-testid="voucher-confirm"' not in rejected
    assert upload(cp, PNG, "again.png") != vid  # the reseller can send a new one


# --- bad inputs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount, zh, en", [
    ("", "请输入金额", "Enter the amount."),
    ("-5.00", "金额必须大于 0", "The amount must be greater than 0."),
    ("0", "金额必须大于 0", "The amount must be greater than 0."),
    ("10.005", "最多两位小数", "Use at most two decimals (fen)."),
    ("abc", "请输入以元为单位的金额", "Enter an amount in yuan, for example 1250000.00."),
])
def test_bad_received_amount_is_shown_next_to_the_field_and_changes_nothing(desk, amount, zh, en):
    client, token = desk
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]))
    before = snapshot([a], vid)
    for lang, text in (("zh", zh), ("en", en)):
        for htmx in (False, True):
            response = post(client, f"/finance/vouchers/{vid}/confirm", {"receivedAmount": amount}, token,
                            htmx=htmx, lang=lang)
            body = response.get_data(as_text=True)
            assert response.status_code == 422, body[:300]
            error = re.search(rf'<p class="field-error" id="received-{vid}-error" role="alert">([^<]+)</p>', body)
            assert error and text in error.group(1), (lang, htmx, error and error.group(1))
            assert 'aria-invalid="true"' in body
            assert 'class="pagination"' not in body  # its links would point at the POST address
    assert snapshot([a], vid) == before


def test_empty_reason_is_refused_next_to_the_field(desk):
    client, token = desk
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]))
    before = snapshot([a], vid)
    for reason, lang, text in (("", "zh", "请填写经销商可见的原因"),
                               ("   ", "en", "Give a reason the reseller will see.")):
        response = post(client, f"/finance/vouchers/{vid}/reject", {"reason": reason}, token, lang=lang)
        body = response.get_data(as_text=True)
        assert response.status_code == 422
        assert re.search(rf'id="reason-{vid}-error" role="alert">[^<]*{re.escape(text)}', body)
    assert snapshot([a], vid) == before


def test_post_without_token_is_refused(desk):
    client, _ = desk
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]))
    assert client.post(f"/finance/vouchers/{vid}/confirm", data={"receivedAmount": "1000.00"}).status_code == 400
    assert client.post(f"/finance/vouchers/{vid}/reject", data={"reason": "x"}, headers=HTMX).status_code == 400
    assert voucher(vid).status == "PENDING"


def test_a_reseller_cannot_confirm(desk, signed_in):
    _, _ = desk
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]))
    operator = signed_in("operator@r1001.example")
    token = csrf_token(operator, "/wallet")
    response = post(operator, f"/finance/vouchers/{vid}/confirm", {"receivedAmount": "1000.00"}, token)
    assert response.status_code == 403 and voucher(vid).status == "PENDING"


def test_double_confirm_by_two_finance_users_one_wins_the_other_is_told(desk, signed_in):
    first, first_token = desk
    second = signed_in("finance2@example.com")
    second_token = csrf_token(second, "/finance/vouchers")  # both have the queue open
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]))
    assert post(first, f"/finance/vouchers/{vid}/confirm", {"receivedAmount": "1200.00"}, first_token,
                htmx=True).status_code == 200
    after_first = snapshot([a], vid)
    for path, data in ((f"/finance/vouchers/{vid}/confirm", {"receivedAmount": "1000.00"}),
                       (f"/finance/vouchers/{vid}/reject", {"reason": "not on the statement"})):
        for htmx in (True, False):
            response = post(second, path, data, second_token, htmx=htmx)
            body = response.get_data(as_text=True)
            assert response.status_code == 409
            assert "finance@example.com" in body and "已被" in body, body[:500]
    response = post(second, f"/finance/vouchers/{vid}/confirm?lang=en", {"receivedAmount": "1000.00"}, second_token)
    assert "already handled by finance@example.com" in response.get_data(as_text=True)
    assert snapshot([a], vid) == after_first
    assert voucher(vid).reviewed_by_user_id == user_id("finance@example.com")
    assert wallet_of("R1001") - Decimal("500000.00") == Decimal("200.00")  # the excess, once


def test_two_finance_users_confirming_at_the_same_moment_pay_once(desk, signed_in):
    first, first_token = desk
    second = signed_in("finance2@example.com")
    second_token = csrf_token(second, "/finance/vouchers")
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]))
    barrier = threading.Barrier(2)

    def confirm(client, token, amount):
        barrier.wait()
        return post(client, f"/finance/vouchers/{vid}/confirm", {"receivedAmount": amount}, token, htmx=True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(confirm, (first, second), (first_token, second_token), ("1100.00", "1300.00")))
    assert sorted(r.status_code for r in answers) == [200, 409]
    winner = next(r for r in answers if r.status_code == 200).get_data(as_text=True)
    excess = Decimal("100.00") if "¥1,100.00" in winner else Decimal("300.00")
    assert wallet_of("R1001") == Decimal("500000.00") + excess  # credited once, by the winner
    assert order(a).payment_status == "PAID"
    assert count(AuditEntry, AuditEntry.action == "voucher.confirm") == 1


def test_unknown_voucher_is_404(desk):
    client, token = desk
    assert post(client, "/finance/vouchers/999999/confirm", {"receivedAmount": "1.00"}, token).status_code == 404


# --- the file ----------------------------------------------------------------------------------------

def test_file_is_served_to_finance_and_the_uploading_reseller_only(app, desk, signed_in):
    finance, _ = desk
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]))
    for path in (f"/vouchers/{vid}/file", f"/vouchers/{vid}/pdf"):
        assert finance.get(path).status_code == 200
        assert signed_in("operator@r1001.example").get(path).status_code == 200
        assert signed_in("approver@r1001.example").get(path).status_code == 200  # same company
        assert signed_in("operator@r1002.example").get(path).status_code == 404
        assert signed_in("admin@example.com").get(path).status_code == 403
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login?next=")
        assert finance.get(path.replace(str(vid), "999999")).status_code == 404


def test_pdf_headers(desk):
    client, _ = desk
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]), PDF, '../x/发票 "A";.html')
    view = client.get(f"/vouchers/{vid}/pdf")
    assert view.data == PDF
    assert view.headers["Content-Type"] == "application/pdf"
    assert view.headers["X-Content-Type-Options"] == "nosniff"
    disposition = view.headers["Content-Disposition"]
    assert disposition.startswith("inline;") and f'filename="voucher-{vid}.pdf"' in disposition
    assert "filename*=UTF-8''" in disposition and disposition.endswith(".pdf") and ".html" not in disposition
    assert '"A"' not in disposition and ";." not in disposition
    csp = view.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "form-action 'none'" in csp
    assert "private" in view.headers["Cache-Control"] and "no-store" in view.headers["Cache-Control"]
    download = client.get(f"/vouchers/{vid}/file")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Type"] == "application/pdf"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert "default-src 'none'" in download.headers["Content-Security-Policy"]
    assert download.headers["X-Frame-Options"] == "DENY"


def test_image_is_shown_inline_sandboxed_with_its_sniffed_type(desk):
    client, _ = desk
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]), PNG, "slip.jpg")  # named .jpg, is a PNG
    response = client.get(f"/vouchers/{vid}/file")
    assert response.data == PNG and response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert "slip.png" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert client.get(f"/vouchers/{vid}/pdf").status_code == 404  # not a PDF
    page = client.get("/finance/vouchers").get_data(as_text=True)
    assert f'src="/vouchers/{vid}/file"' in page


def test_a_file_that_changed_in_storage_is_served_as_a_download_by_what_it_is(app, desk):
    client, _ = desk
    a = make_order(amount="1000.00")
    vid = upload(wire_payment([(a, "1000.00")]))
    replace_voucher_bytes(vid, b"<html><script>alert(1)</script></html>")
    response = client.get(f"/vouchers/{vid}/file")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(f"/vouchers/{vid}/pdf").status_code == 404


def test_the_desk_in_english(desk):
    client, token = desk
    a = make_order(amount="1000.00")
    upload(wire_payment([(a, "1000.00")]))
    en = client.get("/finance/vouchers?lang=en").get_data(as_text=True)
    assert "Wire vouchers" in en and "Amount received" in en and "Confirm receipt" in en
    zh = client.get("/finance/vouchers?lang=zh").get_data(as_text=True)
    assert "转账凭证" in zh and "实收金额" in zh and "确认到账" in zh
