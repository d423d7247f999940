"""The payment receipt (回单) end to end on the real parts: a wallet payment succeeds, the receipt is
requested in the settling transaction and its job put on the ``documents`` queue after commit, the
RQ worker renders it with WeasyPrint, the payment page offers it, the PDF's text (pdftotext) shows
the same figures as the screen, in Chinese, with the total in capital numerals, and its verification
code opens /verify/<code>. Tenant isolation of the download; the receipt of a company whose name is
markup prints the markup as text."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa

from app.domain.chinese_amount import capital_amount
from app.extensions import db
from app.models import Document, DocumentContent, Reseller
from app.services.documents import dispatch, receipts, registry
from app.services.platform.actor import Actor
from app.services.platform.queues import queue
from app.services.platform.unit_of_work import transaction
from app.services.refunds.creation import create_refund
from app.services.refunds.instruction import RefundInstruction
from tests.support.documents import money_figures, page_count, pdf_text, receipt_of, run_document_worker
from tests.support.engine import check_stored_figures
from tests.support.html import dom
from tests.support.screen_setup import make_order, pay

OPERATOR = "operator@r1001.example"


def _queued_job_ids(app) -> list[str]:
    with app.app_context():
        return queue(dispatch.QUEUE).get_job_ids()


def _job_id(app, number: str) -> str:
    with app.app_context():
        return dispatch.job_id(number)


def _empty_documents_queue(app) -> None:
    with app.app_context():
        queue(dispatch.QUEUE).empty()


def test_a_paid_payment_gets_a_receipt_whose_figures_are_the_screens(app, shop, signed_in, tmp_path):
    _empty_documents_queue(app)
    orders = [(make_order(amount=a), a) for a in ("1250.00", "10000.00", "0.05")]
    mp_id = pay(orders, "WALLET").merged_payment_id
    doc = receipt_of(mp_id)
    assert doc is not None and doc.state == "QUEUED" and doc.kind == "RECEIPT"
    assert _job_id(app, doc.number) in _queued_job_ids(app)  # enqueued once the payment committed

    operator = signed_in(OPERATOR)
    pending = dom(operator.get(f"/payments/{mp_id}").get_data(as_text=True))
    part = pending.one("receipt-part")
    assert part.attrs["data-state"] == "QUEUED" and "hx-get" in part.attrs  # asks for itself meanwhile
    assert not pending.all("receipt-download")

    run_document_worker(app)
    page = dom(operator.get(f"/payments/{mp_id}").get_data(as_text=True))
    assert page.one("receipt-part").attrs["data-state"] == "READY" and "hx-get" not in page.one("receipt-part").attrs
    link = page.one("receipt-download").attrs["href"]
    verify_link = page.one("receipt-verify").attrs["href"]
    response = operator.get(link)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    pdf = response.get_data()
    with app.app_context():
        stored = db.session.scalar(sa.select(Document).where(Document.subject == mp_id))
        assert stored.state == "READY" and stored.size_bytes == len(pdf)
        assert stored.sha256 == hashlib.sha256(pdf).hexdigest()
        company = db.session.scalar(sa.select(Reseller.name).where(Reseller.code == "R1001"))

    assert page_count(pdf) == 1
    text = pdf_text(pdf, tmp_path)
    total = sum(Decimal(a) for _, a in orders)
    assert "付款回单" in text and "付款单位" in text and company in text and mp_id in text
    assert f"人民币{capital_amount(total)}" in text and capital_amount(total) == "壹万壹仟贰佰伍拾元零伍分"
    for payment_id, _ in orders:
        assert payment_id in text
    assert doc.verification_code in text and verify_link.endswith(doc.verification_code)

    # The screen's figures (allocations and the total) are the PDF's.
    screen_lines = sorted(row.all(tag="td")[3].text for row in page.all("allocation"))
    screen_total = page.one("payment-total").text
    pdf_money = money_figures(text)
    assert sorted(pdf_money[:-2]) == screen_lines  # the lines, then the table total and the total in figures
    assert pdf_money[-2:] == [screen_total, screen_total] == ["¥11,250.05", "¥11,250.05"]

    verified = dom(app.test_client().get(verify_link).get_data(as_text=True)).one("verify-result")
    assert verified.attrs["data-valid"] == "true"
    assert verified.one("verify-amount").text == screen_total
    assert company not in verified.text and orders[0][0] not in verified.text  # key facts only


def test_another_company_never_gets_the_receipt_finance_does(app, shop, signed_in):
    mp_id = pay([(make_order(amount="300.00"), "300.00")], "WALLET").merged_payment_id
    run_document_worker(app)
    number = receipt_of(mp_id).number
    assert signed_in("operator@r1002.example").get(f"/documents/{number}/pdf").status_code == 404
    assert signed_in("operator@r1002.example").get(f"/payments/{mp_id}/receipt",
                                                   headers={"HX-Request": "true"}).status_code == 404
    assert signed_in("approver@r1001.example").get(f"/documents/{number}/pdf").status_code == 200
    finance = signed_in("finance@example.com")
    assert finance.get(f"/documents/{number}/pdf").status_code == 200
    rows = dom(finance.get("/finance/documents").get_data(as_text=True)).all("document-row")
    assert [(r.attrs["data-kind"], r.attrs["data-state"]) for r in rows] == [("RECEIPT", "READY")]
    assert rows[0].one("document-download").attrs["href"] == f"/documents/{number}/pdf"


def test_asking_again_for_the_same_receipt_returns_the_same_document(app, shop, signed_in):
    mp_id = pay([(make_order(amount="300.00"), "300.00")], "WALLET").merged_payment_id
    first = receipt_of(mp_id).number
    operator = signed_in(OPERATOR)
    token = dom(operator.get(f"/payments/{mp_id}").get_data(as_text=True)).one(tag="input", name="csrf_token")
    for _ in range(3):
        answer = operator.post(f"/payments/{mp_id}/receipt", data={"csrf_token": token.attrs["value"]})
        assert answer.status_code == 303
    owner = receipt_of(mp_id).reseller_id
    with app.app_context():
        assert receipts.ask_for_receipt(Actor(type="user", id="t"), owner, mp_id, None) == first
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 1


def test_a_request_rolled_back_with_its_transaction_leaves_nothing(app, shop):
    _empty_documents_queue(app)
    mp_id = pay([(make_order(amount="300.00"), "300.00")], "WALLET").merged_payment_id
    _empty_documents_queue(app)
    with app.app_context():
        db.session.execute(sa.delete(Document))
        db.session.commit()

        class Abort(Exception):
            pass

        try:
            with transaction():
                mp = db.session.scalar(sa.select(receipts.MergedPayment).where(
                    receipts.MergedPayment.merged_payment_id == mp_id))
                receipts.request_receipt(Actor(type="system", id="t"), mp)
                raise Abort
        except Abort:
            pass
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
    assert _queued_job_ids(app) == []


def test_a_receipt_asked_for_in_the_settlement_is_queued_once_the_settlement_commits(app, shop):
    """The receipt is asked for in a savepoint of the settlement's transaction: its render job must
    wait for the outer commit (it was enqueued at the savepoint's release, and the worker did not
    find the document)."""
    mp_id = pay([(make_order(amount="300.00"), "300.00")], "WALLET").merged_payment_id
    with app.app_context():
        db.session.execute(sa.delete(Document))
        db.session.commit()
    _empty_documents_queue(app)
    with app.app_context():
        mp = db.session.scalar(sa.select(receipts.MergedPayment).where(
            receipts.MergedPayment.merged_payment_id == mp_id))
        receipts.on_merged_completed(mp, Actor(type="system", id="t"))
        number = db.session.scalar(sa.select(Document.number))
        assert number is not None
        assert _queued_job_ids(app) == []
        db.session.commit()
    assert _queued_job_ids(app) == [_job_id(app, number)]


def test_a_company_name_made_of_markup_is_printed_as_text(app, shop, tmp_path):
    hostile = '<img src="file:///etc/passwd"><img src="http://169.254.169.254/latest/meta-data/">'
    with app.app_context():
        db.session.execute(sa.update(Reseller).where(Reseller.code == "R1001").values(name=hostile))
        db.session.commit()
    mp_id = pay([(make_order(amount="300.00"), "300.00")], "WALLET").merged_payment_id
    run_document_worker(app)
    with app.app_context():
        doc = db.session.scalar(sa.select(Document).where(Document.subject == mp_id))
        assert doc.state == "READY", doc.failure_reason
        pdf = db.session.scalar(sa.select(DocumentContent.content).where(DocumentContent.document_id == doc.id))
    text = " ".join(pdf_text(pdf, tmp_path).split())
    assert '<img src="file:///etc/passwd">' in text and "169.254.169.254/latest/meta-data/" in text
    assert "root:" not in text


def test_a_receipt_with_many_lines_repeats_its_header_and_numbers_its_pages(app, shop, tmp_path):
    orders = [(make_order(amount=f"{100 + i}.00"), f"{100 + i}.00") for i in range(60)]
    mp_id = pay(orders, "WALLET").merged_payment_id
    run_document_worker(app)
    with app.app_context():
        doc = db.session.scalar(sa.select(Document).where(Document.subject == mp_id))
        pdf = db.session.scalar(sa.select(DocumentContent.content).where(DocumentContent.document_id == doc.id))
    pages = page_count(pdf)
    with_rows = 0
    for n in range(1, pages + 1):
        text = pdf_text(pdf, tmp_path, page=n)
        assert f"第 {n} 页 / 共 {pages} 页" in text and f"Page {n} of {pages}" in text
        if any(payment_id in text for payment_id, _ in orders):
            with_rows += 1
            assert "订单号" in text and "Paid at" in text  # the table header on every page of rows
    assert with_rows >= 2
    everything = pdf_text(pdf, tmp_path)
    for payment_id, _ in orders:  # every row once, none split or lost at a page break
        assert everything.count(payment_id) == 1, payment_id
    total = sum(Decimal(a) for _, a in orders)
    assert capital_amount(total) in everything


def test_the_web_process_never_loads_weasyprint():
    code = ("import sys; from app import create_app; app = create_app({'DATABASE_URL': 'sqlite://'}); "
            "c = app.test_client(); c.get('/verify/AAAAAAAAAAAAAAAA'); c.get('/login'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('weasyprint', 'segno', 'pydyf')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_a_refund_that_paid_money_back_gets_its_refund_receipt(app, shop, signed_in, tmp_path):
    payment_id = make_order(amount="2000.00")
    pay([(payment_id, "2000.00")], "WALLET")
    with app.app_context():
        refund, _, _ = create_refund(Actor(type="api_client", id="order-system"), RefundInstruction(
            refund_order_id="RO-RECEIPT-1", payment_id=payment_id, amount=Decimal("1200.50"), reason="规格变更"))
        refund_id = refund.refund_id
        assert refund.status == "SUCCESS"  # a wallet refund goes back at once
    run_document_worker(app)
    with app.app_context():
        doc = db.session.scalar(sa.select(Document).where(Document.doc_type == "REFUND_RECEIPT"))
        assert doc.subject == refund_id and doc.kind == "RECEIPT" and doc.state == "READY", doc.failure_reason
        pdf = db.session.scalar(sa.select(DocumentContent.content).where(DocumentContent.document_id == doc.id))
    text = pdf_text(pdf, tmp_path)
    assert "退款回单" in text and refund_id in text and "RO-RECEIPT-1" in text and payment_id in text
    assert "规格变更" in text and "¥1,200.50" in text and "人民币壹仟贰佰元伍角整" in text
    assert doc.verification_code in text and page_count(pdf) == 1
    operator = signed_in(OPERATOR)
    link = dom(operator.get(f"/orders/{payment_id}").get_data(as_text=True)).one("refund-receipt-download")
    assert operator.get(link.attrs["href"]).get_data() == pdf
    assert signed_in("operator@r1002.example").get(link.attrs["href"]).status_code == 404


def test_a_receipt_that_cannot_be_requested_never_undoes_the_payment(app, shop, monkeypatch, caplog):
    # The database refuses the document's row (its kind breaks a CHECK constraint): an error inside
    # the settling transaction, which only the request's savepoint keeps from aborting it.
    monkeypatch.setitem(registry._TYPES, receipts.RECEIPT,
                        dataclasses.replace(receipts.RECEIPT_TYPE, kind=SimpleNamespace(value="BOGUS")))
    payment_id = make_order(amount="300.00")
    mp_id = pay([(payment_id, "300.00")], "WALLET").merged_payment_id
    with app.app_context():
        status = db.session.scalar(sa.select(receipts.MergedPayment.status).where(
            receipts.MergedPayment.merged_payment_id == mp_id))
        assert status == "SUCCEEDED"
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
    assert any("could not be requested" in r.getMessage() for r in caplog.records)
    with app.app_context():  # the payment still counts on the finance desk (its savepoint rolled back alone)
        check_stored_figures()
