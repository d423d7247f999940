"""/payments and /payments/<mergedPaymentId>: next step per channel, voucher upload (files checked by
content), the status part that polls itself only while PROCESSING, refresh-status (compensation
query through the worker), cancel, tenant isolation, the history list; ONLINE against the real
sandbox gateway."""

from __future__ import annotations

import signal
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ChannelPayment, MergedPayment, Reseller, User, Voucher
from app.services.platform.actor import Actor
from app.services.vouchers import review as voucher_review
from sandbox.testing import http_request, wait_until
from tests.support.checkout_screen import HX, count, order_row, orders, pay
from tests.support.engine import check_invariants
from tests.support.factories import add_channel
from tests.support.files import encrypted_pdf, minimal_pdf
from tests.support.html import dom
from tests.support.online_gateway import API_SECRET, CALLBACK_SECRET, MERCHANT
from tests.support.web import csrf_token

FINANCE = Actor(type="user", id="finance@example.com")
PDF = minimal_pdf()


def mp_status(app, mp_id: str) -> str:
    with app.app_context():
        status = db.session.scalar(sa.select(MergedPayment.status).where(MergedPayment.merged_payment_id == mp_id))
        db.session.rollback()
        return status


def channel_payment(app, mp_id: str, kind: str) -> ChannelPayment:
    with app.app_context():
        cp = db.session.scalar(sa.select(ChannelPayment).join(MergedPayment).where(
            MergedPayment.merged_payment_id == mp_id, ChannelPayment.channel_kind == kind))
        db.session.expunge(cp)
        db.session.rollback()
        return cp


def finance_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == "finance@example.com"))


def poll(client, mp_id: str):
    return client.get(f"/payments/{mp_id}", headers=HX)


def upload(client, mp_id: str, cp_number: str, name: str, data: bytes):
    """A multipart POST built here as bytes: the test client would spool a large body to a temporary
    file that nobody closes."""
    token = csrf_token(client, f"/payments/{mp_id}")
    boundary = "----voucher-test-boundary"
    body = b"".join([
        *(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
          for k, v in (("csrf_token", token), ("channel_payment_id", cp_number))),
        f'--{boundary}\r\nContent-Disposition: form-data; name="voucher"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode(), data, b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ])
    return client.post(f"/payments/{mp_id}/vouchers", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def post(client, path: str, htmx: bool = False, **data):
    token = csrf_token(client, "/payments")
    if htmx:
        return client.post(path, data=data, headers={**HX, "X-CSRFToken": token})
    return client.post(path, data={"csrf_token": token, **data})


# --- WIRE: instructions, vouchers -----------------------------------------------------------------

def test_wire_step_shows_reference_amount_and_upload_form_and_the_part_polls(app, operator):
    (a, b) = orders(app, "1000.00", "250.00")
    mp_id = pay(operator, [(a, "600.00", "WIRE_ICBC"), (b, "250.00", "WIRE_ICBC")])
    cp = channel_payment(app, mp_id, "WIRE")
    page = operator.get(f"/payments/{mp_id}?lang=en")
    assert page.status_code == 200 and "HX-Request" in page.headers["Vary"]
    tree = dom(page)
    assert tree.one("payment-status")["data-status"] == "PROCESSING"
    step = tree.one("channel-next-step")
    assert step["data-channel-kind"] == "WIRE"
    assert step.one("wire-reference").text == cp.wire_reference
    assert step.one("wire-amount").text == "¥850.00"
    assert "6222020200112233445" in step.text
    assert step.one("wire-account").text.replace(" ", "") == "6222020200112233445"  # docs/SCREENS.md hook
    assert step.one("voucher-file")["type"] == "file" and step.all("voucher-submit")
    part = tree.one("payment-status-part")
    assert part["hx-trigger"] == "every 3s" and part["hx-get"] == f"/payments/{mp_id}"
    assert [a_["data-payment-id"] for a_ in tree.all("allocation")] == [a, b]
    partial = poll(operator, mp_id)
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)
    assert dom(partial).one("payment-status-part")["hx-trigger"] == "every 3s"


EXECUTABLES = {
    "ELF renamed .pdf": ("invoice.pdf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64),
    "MZ renamed .pdf": ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64),
    "HTML renamed .pdf": ("slip.pdf", b"<html><script>alert(1)</script></html>"),
    "SVG": ("slip.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
    "empty": ("empty.pdf", b""),
}


@pytest.mark.parametrize("case", sorted(EXECUTABLES))
def test_a_file_that_is_not_a_pdf_or_image_is_refused_next_to_the_field(app, operator, case):
    (a,) = orders(app, "1000.00")
    mp_id = pay(operator, [(a, "1000.00", "WIRE_ICBC")])
    cp = channel_payment(app, mp_id, "WIRE")
    operator.get("/payments?lang=en")
    name, data = EXECUTABLES[case]
    response = upload(operator, mp_id, cp.channel_payment_id, name, data)
    assert response.status_code == 422
    tree = dom(response)
    error = tree.one("voucher-error")
    assert ("PDF, JPG or PNG" in error.text) if data else ("empty" in error.text)
    form = tree.one(tag="form", id=f"voucher-form-{cp.channel_payment_id}")
    assert form.one("voucher-file")["aria-describedby"] == error["id"]
    assert count(app, Voucher) == 0


def test_executable_voucher_message_in_chinese(app, operator):
    (a,) = orders(app, "1000.00")
    mp_id = pay(operator, [(a, "1000.00", "WIRE_ICBC")])
    cp = channel_payment(app, mp_id, "WIRE")
    operator.get("/payments?lang=zh")
    response = upload(operator, mp_id, cp.channel_payment_id, "a.pdf", b"MZ\x90\x00")
    assert response.status_code == 422 and "PDF、JPG 或 PNG" in dom(response).one("voucher-error").text


def test_no_file_chosen_and_too_large(app, operator):
    (a,) = orders(app, "1000.00")
    mp_id = pay(operator, [(a, "1000.00", "WIRE_ICBC")])
    cp = channel_payment(app, mp_id, "WIRE")
    operator.get("/payments?lang=en")
    token = csrf_token(operator, f"/payments/{mp_id}")
    none = operator.post(f"/payments/{mp_id}/vouchers", data={"csrf_token": token,
                                                               "channel_payment_id": cp.channel_payment_id})
    assert none.status_code == 422 and "Choose the voucher file" in dom(none).one("voucher-error").text
    limit = app.config["VOUCHER_MAX_BYTES"]
    big = upload(operator, mp_id, cp.channel_payment_id, "big.pdf", b"%PDF-" + b"0" * limit)
    assert big.status_code == 422 and "larger than 10 MB" in dom(big).one("voucher-error").text
    # %PDF- and then an HTML page: it starts like a PDF but does not parse as one
    polyglot = upload(operator, mp_id, cp.channel_payment_id, "slip.pdf",
                      b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF\n")
    assert polyglot.status_code == 422 and "cannot be read" in dom(polyglot).one("voucher-error").text
    truncated = upload(operator, mp_id, cp.channel_payment_id, "slip.pdf", PDF[: len(PDF) // 2])
    assert truncated.status_code == 422 and "cannot be read" in dom(truncated).one("voucher-error").text
    operator.get("/payments?lang=zh")
    locked = upload(operator, mp_id, cp.channel_payment_id, "slip.pdf", encrypted_pdf())
    assert locked.status_code == 422 and "密码保护" in dom(locked).one("voucher-error").text
    assert count(app, Voucher) == 0


def test_voucher_upload_then_rejection_with_reason_then_upload_again_then_confirmation(app, operator):
    (a,) = orders(app, "1000.00")
    mp_id = pay(operator, [(a, "1000.00", "WIRE_ICBC")])
    cp = channel_payment(app, mp_id, "WIRE")
    operator.get("/payments?lang=en")
    response = upload(operator, mp_id, cp.channel_payment_id, "../../slip.pdf", PDF)
    assert response.status_code == 303 and response.headers["Location"] == f"/payments/{mp_id}"
    tree = dom(operator.get(f"/payments/{mp_id}"))
    assert "uploaded" in tree.one("flash").text
    assert "slip.pdf" in tree.one("voucher-pending").text
    assert not tree.all("voucher-file") and not tree.all("cancel-payment")
    download = operator.get(tree.one("voucher-pending").one(tag="a")["href"])
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    download.close()

    fin = finance_id(app)
    with app.app_context():
        voucher_id = db.session.scalar(sa.select(Voucher.id))
        voucher_review.reject(FINANCE, "finance", fin, voucher_id, "转账未到账 / not on our statement")
    tree = dom(poll(operator, mp_id))
    assert "not on our statement" in tree.one("voucher-rejected").text
    assert tree.all("voucher-file") and tree.one("payment-status")["data-status"] == "PROCESSING"

    assert upload(operator, mp_id, cp.channel_payment_id, "slip2.png", b"\x89PNG\r\n\x1a\n....").status_code == 303
    with app.app_context():
        second = db.session.scalar(sa.select(Voucher.id).where(Voucher.status == "PENDING"))
        voucher_review.confirm(FINANCE, "finance", fin, second, "1200.00")
    tree = dom(poll(operator, mp_id))
    assert tree.one("payment-status")["data-status"] == "SUCCEEDED"
    assert tree.one("payment-status-part")["hx-trigger"] is None  # final: the polling stops
    step = tree.one("channel-next-step")
    assert "¥1,200.00 arrived" in step.text and "¥200.00 was credited to your wallet" in step.text
    assert not tree.all("refresh-status")
    with app.app_context():
        check_invariants()


def test_a_second_voucher_while_one_waits_is_refused(app, operator):
    (a,) = orders(app, "1000.00")
    mp_id = pay(operator, [(a, "1000.00", "WIRE_ICBC")])
    cp = channel_payment(app, mp_id, "WIRE")
    operator.get("/payments?lang=en")
    assert upload(operator, mp_id, cp.channel_payment_id, "a.pdf", PDF).status_code == 303
    again = upload(operator, mp_id, cp.channel_payment_id, "b.pdf", PDF)
    assert again.status_code == 409 and "already waiting for finance" in dom(again).one("voucher-error").text
    assert count(app, Voucher) == 1


# --- WALLET / CREDIT, cancel ---------------------------------------------------------------------

def test_wallet_and_credit_are_done_at_once_and_do_not_poll(app, operator):
    a, b = orders(app, "1000.00", "2000.00")
    mp_id = pay(operator, [(a, "1000.00", "WALLET"), (b, "2000.00", "CREDIT")])
    tree = dom(operator.get(f"/payments/{mp_id}?lang=en"))
    assert tree.one("payment-status")["data-status"] == "SUCCEEDED"
    steps = {s["data-channel-kind"]: s.text for s in tree.all("channel-next-step")}
    assert "Paid from your wallet" in steps["WALLET"] and "Booked on your credit line" in steps["CREDIT"]
    assert tree.one("payment-status-part")["hx-trigger"] is None
    assert dom(poll(operator, mp_id)).one("payment-status-part")["hx-get"] is None
    assert not tree.all("cancel-payment")


def test_cancel_while_nothing_is_paid_releases_the_orders(app, operator):
    (a,) = orders(app, "1000.00")
    mp_id = pay(operator, [(a, "400.00", "WIRE_ICBC")])
    operator.get("/payments?lang=en")
    assert dom(operator.get(f"/payments/{mp_id}")).all("cancel-payment")
    response = post(operator, f"/payments/{mp_id}/cancel")
    assert response.status_code == 303
    tree = dom(operator.get(f"/payments/{mp_id}"))
    assert tree.one("payment-status")["data-status"] == "CANCELLED" and "cancelled" in tree.one("flash").text
    assert order_row(app, a).reserved_amount == 0 and order_row(app, a).payment_status == "UNPAID"


def test_cancel_is_refused_once_a_voucher_waits_for_finance(app, operator):
    (a,) = orders(app, "1000.00")
    mp_id = pay(operator, [(a, "400.00", "WIRE_ICBC")])
    cp = channel_payment(app, mp_id, "WIRE")
    operator.get("/payments?lang=en")
    upload(operator, mp_id, cp.channel_payment_id, "a.pdf", PDF)
    response = post(operator, f"/payments/{mp_id}/cancel")
    assert response.status_code == 409
    assert "voucher is waiting for finance" in dom(response).one("flash").text
    assert mp_status(app, mp_id) == "PROCESSING"


# --- tenant isolation ----------------------------------------------------------------------------

def test_another_resellers_payment_is_404_everywhere(app, operator, signed_in):
    (a,) = orders(app, "1000.00")
    mp_id = pay(operator, [(a, "1000.00", "WIRE_ICBC")])
    cp = channel_payment(app, mp_id, "WIRE")
    upload(operator, mp_id, cp.channel_payment_id, "a.pdf", PDF)
    with app.app_context():
        voucher_id = db.session.scalar(sa.select(Voucher.id))
    other = signed_in("operator@r1002.example")
    assert other.get(f"/payments/{mp_id}").status_code == 404
    assert poll(other, mp_id).status_code == 404
    assert other.get(f"/payments/{mp_id}/vouchers/{voucher_id}").status_code == 404
    assert post(other, f"/payments/{mp_id}/refresh").status_code == 404
    assert post(other, f"/payments/{mp_id}/cancel").status_code == 404
    assert upload(other, mp_id, cp.channel_payment_id, "x.pdf", PDF).status_code == 404
    assert mp_id not in other.get("/payments").get_data(as_text=True)
    assert other.get("/payments/MP-NOPE").status_code == 404
    # Their own payment page with our transfer number tampered in: 404 too, nothing stored.
    (theirs,) = orders(app, "100.00", reseller="R1002")
    their_mp = pay(other, [(theirs, "100.00", "WIRE_ICBC")])
    assert upload(other, their_mp, cp.channel_payment_id, "x.pdf", PDF).status_code == 404
    assert count(app, Voucher) == 1 and mp_status(app, mp_id) == "PROCESSING"
    for email in ("finance@example.com", "admin@example.com"):
        assert signed_in(email).get(f"/payments/{mp_id}").status_code == 403


# --- the history list ----------------------------------------------------------------------------

def test_history_filters_by_status_and_date_and_pages(app, operator):
    ids = orders(app, *["10.00"] * 23)
    for pid in ids[:22]:
        pay(operator, [(pid, "10.00", "WALLET")])
    wire = pay(operator, [(ids[22], "10.00", "WIRE_ICBC")])
    first = dom(operator.get("/payments?lang=en"))
    assert len(first.all("payment-row")) == 20 and "Page 1 of 2" in first.text
    assert first.all("payment-row")[0]["data-merged-payment-id"] == wire  # newest first
    second = dom(operator.get("/payments?page=2"))
    assert len(second.all("payment-row")) == 3
    processing = dom(operator.get("/payments?status=PROCESSING"))
    assert [r["data-merged-payment-id"] for r in processing.all("payment-row")] == [wire]
    from app.domain.timeutil import shanghai_today

    today = shanghai_today().isoformat()
    assert len(dom(operator.get(f"/payments?created_from={today}&created_to={today}")).all("payment-row")) == 20
    assert not dom(operator.get("/payments?created_to=2020-01-01")).all("payment-row")
    partial = operator.get("/payments?status=PROCESSING", headers=HX)
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)
    assert dom(partial).one(id="payment-list")


def test_history_bad_filter_is_shown_next_to_the_field(app, operator):
    response = operator.get("/payments?created_from=31-12-2025&status=NOPE&lang=en")
    assert response.status_code == 422
    tree = dom(response)
    assert tree.one(id="created_from-error") and tree.one(id="status-error")
    assert "No payments match" in tree.text


def test_history_in_chinese(app, operator):
    (a,) = orders(app, "10.00")
    pay(operator, [(a, "10.00", "WALLET")])
    body = operator.get("/payments?lang=zh").get_data(as_text=True)
    assert "付款记录" in body and "成功" in body


# --- ONLINE against the real sandbox gateway ------------------------------------------------------

@pytest.fixture
def online(app, gateway, portal_http, shop):  # noqa: F811  (fixtures)
    gateway.reset()
    gateway.set_faults(drop_rate=0.0, duplicate_rate=0.0, out_of_order=False, query_error_rate=0.0,
                       callback_delay_ms=0, callback_retry_base_ms=50, processing_resolves_to="SUCCESS")
    old = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = portal_http
    with app.app_context():
        add_channel("ONLINE_UNIONPAY", "ONLINE", name="银联企业网银", name_en="UnionPay B2B", sort_order=0,
                    config={"base_url": gateway.base_url, "merchant_no": MERCHANT},
                    secrets={"api_secret": API_SECRET, "callback_secret": CALLBACK_SECRET})
    yield gateway
    app.config["PUBLIC_BASE_URL"] = old


def test_online_step_links_to_the_bank_page_which_returns_here_and_the_page_settles(app, operator, online,
                                                                                   portal_http):  # noqa: F811
    a, b = orders(app, "300.00", "700.00")
    mp_id = pay(operator, [(a, "300.00", "ONLINE_UNIONPAY"), (b, "700.00", "ONLINE_UNIONPAY")])
    cp = channel_payment(app, mp_id, "ONLINE")
    tree = dom(operator.get(f"/payments/{mp_id}?lang=en"))
    step = tree.one("channel-next-step")
    assert step["data-channel-kind"] == "ONLINE"
    link = step.one("gateway-link")["href"]
    assert link == cp.pay_url and link.startswith(online.base_url)
    bank_page = http_request("GET", link)
    assert bank_page.status == 200 and b'data-testid="gateway-pay"' in bank_page.body and b"1,000.00" in bank_page.body
    assert tree.one("payment-status-part")["hx-trigger"] == "every 3s"

    paid = http_request("POST", link + "/pay")  # the reseller presses "pay" on the bank's page
    assert paid.status == 303 and paid.headers["location"] == f"{portal_http}/payments/{mp_id}"
    wait_until(lambda: mp_status(app, mp_id) == "SUCCEEDED", timeout=10)
    part = dom(poll(operator, mp_id))
    assert part.one("payment-status")["data-status"] == "SUCCEEDED"
    assert part.one("payment-status-part")["hx-trigger"] is None
    assert "Paid at the bank" in part.one("channel-next-step").text
    assert order_row(app, a).payment_status == "PAID" and order_row(app, b).payment_status == "PAID"


def test_declined_at_the_bank_shows_failed_and_releases(app, operator, online):
    (a,) = orders(app, "300.00")
    mp_id = pay(operator, [(a, "300.00", "ONLINE_UNIONPAY")])
    cp = channel_payment(app, mp_id, "ONLINE")
    http_request("POST", cp.pay_url + "/decline")
    wait_until(lambda: mp_status(app, mp_id) == "FAILED", timeout=10)
    tree = dom(poll(operator, mp_id))
    assert tree.one("payment-status")["data-status"] == "FAILED" and tree.one("payment-status-part")[
        "hx-trigger"] is None
    assert order_row(app, a).reserved_amount == 0


def _run_worker(app):
    from worker import build_worker

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with app.app_context():
            build_worker(["high"]).work(burst=True)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def test_refresh_status_runs_the_compensation_query(app, operator, online):
    online.set_faults(drop_rate=1.0)  # the bank's callback never arrives
    (a,) = orders(app, "300.00")
    mp_id = pay(operator, [(a, "300.00", "ONLINE_UNIONPAY")])
    cp = channel_payment(app, mp_id, "ONLINE")
    online.complete_payment(cp.channel_transaction_id, "SUCCESS")
    operator.get("/payments?lang=en")
    response = post(operator, f"/payments/{mp_id}/refresh", htmx=True)
    assert response.status_code == 200
    tree = dom(response)
    assert "asked the bank" in tree.one("flash").text and tree.one("payment-status")["data-status"] == "PROCESSING"
    _run_worker(app)
    part = dom(poll(operator, mp_id))
    assert part.one("payment-status")["data-status"] == "SUCCEEDED"
    assert part.one("payment-status-part")["hx-trigger"] is None
    # Without HTMX the button is a plain form: back to the page.
    (b,) = orders(app, "100.00")
    mp2 = pay(operator, [(b, "100.00", "ONLINE_UNIONPAY")])
    assert post(operator, f"/payments/{mp2}/refresh").status_code == 303


def test_cancel_of_an_online_payment_asks_the_bank_first(app, operator, online):
    (a,) = orders(app, "300.00")
    mp_id = pay(operator, [(a, "300.00", "ONLINE_UNIONPAY")])
    operator.get("/payments?lang=en")
    assert post(operator, f"/payments/{mp_id}/cancel").status_code == 303
    assert mp_status(app, mp_id) == "CANCELLED" and order_row(app, a).payment_status == "UNPAID"

    online.set_faults(drop_rate=1.0)
    (b,) = orders(app, "300.00")
    mp2 = pay(operator, [(b, "300.00", "ONLINE_UNIONPAY")])
    online.complete_payment(channel_payment(app, mp2, "ONLINE").channel_transaction_id, "SUCCESS")
    refused = post(operator, f"/payments/{mp2}/cancel")
    assert refused.status_code == 409 and "already received this payment" in dom(refused).one("flash").text
    assert mp_status(app, mp2) == "SUCCEEDED"


def test_approval_wait_shows_no_bank_link_and_no_polling(app, operator):
    with app.app_context():
        db.session.execute(sa.update(Reseller).where(Reseller.code == "R1001").values(
            approval_threshold=Decimal("100.00")))
        db.session.commit()
    (a,) = orders(app, "1000.00")
    mp_id = pay(operator, [(a, "1000.00", "WIRE_ICBC")])
    tree = dom(operator.get(f"/payments/{mp_id}?lang=en"))
    assert tree.one("payment-status")["data-status"] == "PENDING_APPROVAL"
    assert tree.one("payment-status-part")["hx-trigger"] is None
    assert "once the payment is approved" in tree.one("channel-next-step").text
    assert not tree.all("wire-reference") and tree.all("cancel-payment")
