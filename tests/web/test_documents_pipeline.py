"""The document pipeline's failure paths on the real worker and Redis: bad template data leaves the
document FAILED with a reason in the reader's language and a retry renders it; data that cannot make
the document (a receipt of an unpaid payment) fails with its reason; a rendering whose job died is
re-queued by the sweep, a stale attempt can never store, and after too many attempts it fails;
a QUEUED document whose job is gone is enqueued again; bytes that fail their SHA-256 are never
served. Nothing is offered before it is READY."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.domain.enums import DocumentFailure, DocumentState
from app.extensions import db
from app.jobs import cron
from app.jobs.documents import sweep_documents
from app.models import Document, DocumentContent, MergedPayment
from app.models.types import now_utc
from app.services.documents import dispatch, receipts, registry, requests, storage, sweep
from app.services.platform.actor import Actor
from app.services.platform.queues import QUEUE_NAMES, queue
from tests.support.alerts import alerts_of
from tests.support.documents import failed_receipt, receipt_of, run_document_worker
from tests.support.html import dom
from tests.support.screen_setup import make_order, pay
from tests.support.web import csrf_token

ACTOR = Actor(type="user", id="tests")
FINANCE = "finance@example.com"
OPERATOR = "operator@r1001.example"


def _paid(amount: str = "300.00") -> str:
    return pay([(make_order(amount=amount), amount)], "WALLET").merged_payment_id


def _doc(app, number: str) -> Document:
    with app.app_context():
        doc = db.session.scalar(sa.select(Document).where(Document.number == number))
        db.session.expunge(doc)
        return doc


def _content_rows(app, doc_id: int) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(DocumentContent.document_id == doc_id))


def _request(app, doc_type: str, mp_id: str) -> tuple[int, str]:
    with app.app_context():
        rid = db.session.scalar(sa.select(MergedPayment.reseller_id).where(MergedPayment.merged_payment_id == mp_id))
        return requests.request_now(ACTOR, doc_type, subject=mp_id, reseller_id=rid, params={"mergedPaymentId": mp_id})


@pytest.fixture
def broken_type(monkeypatch):
    """A receipt type whose data breaks its template (the total is not a number); ``fix()`` mends it."""
    def broken(doc):
        context = receipts.receipt_context(doc)
        context["total"] = "not a number"
        return context

    monkeypatch.setitem(registry._TYPES, "TEST_BROKEN",
                        dataclasses.replace(receipts.RECEIPT_TYPE, code="TEST_BROKEN", context=broken))

    def fix():
        monkeypatch.setitem(registry._TYPES, "TEST_BROKEN",
                            dataclasses.replace(receipts.RECEIPT_TYPE, code="TEST_BROKEN"))

    return fix


def test_bad_template_data_fails_with_a_reason_and_a_retry_renders_it(app, shop, signed_in, broken_type):
    mp_id = _paid()
    doc_id, number = _request(app, "TEST_BROKEN", mp_id)
    run_document_worker(app)
    doc = _doc(app, number)
    assert doc.state == DocumentState.FAILED and doc.failure_code == DocumentFailure.RENDER_ERROR
    assert doc.failure_reason.startswith("The document could not be rendered (")
    assert _content_rows(app, doc_id) == 0
    with app.app_context():
        assert alerts_of("document_failed") == [(number, "OPEN", 1)]
    finance = signed_in(FINANCE)
    assert finance.get(f"/documents/{number}/pdf").status_code == 404
    assert signed_in(OPERATOR).get(f"/documents/{number}/pdf").status_code == 404
    page = dom(finance.get("/finance/documents").get_data(as_text=True))
    row = next(r for r in page.all("document-row") if r.attrs["data-number"] == number)
    assert row.attrs["data-state"] == "FAILED"
    assert "文件生成失败" in row.one("document-failure").text  # the reason in the reader's language (zh)
    assert dom(finance.get("/finance/documents?lang=en").get_data(as_text=True)).one(
        "document-failure").text.startswith("The document could not be printed.")

    broken_type()  # the data is mended; finance asks again from the list
    answer = finance.post(f"/documents/{number}/retry", data={"csrf_token": csrf_token(finance, "/finance/documents"),
                                                              "next": "/finance/documents"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/finance/documents"
    queued = _doc(app, number)
    assert queued.state == DocumentState.QUEUED and queued.failure_code is None and queued.failure_reason is None
    with app.app_context():
        assert dispatch.job_id(number) in queue(dispatch.QUEUE).get_job_ids()
    run_document_worker(app)
    assert _doc(app, number).state == DocumentState.READY and _doc(app, number).attempts == 2
    assert finance.get(f"/documents/{number}/pdf").get_data().startswith(b"%PDF-")
    with app.app_context():
        assert alerts_of("document_failed") == [(number, "RESOLVED", 1)]  # made on the retry


def test_a_receipt_of_a_payment_with_nothing_paid_fails_with_its_reason(app, shop):
    mp_id = pay([(make_order(amount="500.00"), "500.00")], "WIRE_ICBC").merged_payment_id
    assert receipt_of(mp_id) is None  # nothing was paid: nothing was asked for
    _, number = _request(app, receipts.RECEIPT, mp_id)
    run_document_worker(app)
    doc = _doc(app, number)
    assert doc.state == DocumentState.FAILED and doc.failure_code == DocumentFailure.BAD_DATA
    assert f"Payment {mp_id} has not succeeded (PROCESSING)" in doc.failure_reason


def test_the_reseller_retries_a_failed_receipt_from_the_payment_page(app, shop, signed_in):
    mp_id = _paid()
    number = failed_receipt(mp_id, "disk full (tests)")
    operator = signed_in(OPERATOR)
    page = dom(operator.get(f"/payments/{mp_id}").get_data(as_text=True))
    assert page.one("receipt-part").attrs["data-state"] == "FAILED" and not page.all("receipt-download")
    token = csrf_token(operator, f"/payments/{mp_id}")
    part = dom(operator.post(f"/payments/{mp_id}/receipt", data={"csrf_token": token},
                             headers={"HX-Request": "true"}).get_data(as_text=True)).one("receipt-part")
    assert part.attrs["data-state"] == "QUEUED" and "hx-get" in part.attrs
    run_document_worker(app)
    assert receipt_of(mp_id).number == number and receipt_of(mp_id).state == DocumentState.READY


def test_a_rendering_whose_job_died_is_requeued_and_the_stale_attempt_cannot_store(app, shop, signed_in,
                                                                                    monkeypatch):
    mp_id = _paid()
    doc = receipt_of(mp_id)
    monkeypatch.setitem(app.config, "DOCUMENT_STUCK_SECONDS", 60)
    with app.app_context():
        assert storage.claim(doc.id) == 1  # a worker took it ... and was killed
        assert storage.claim(doc.id) is None  # a duplicate job finds it taken
        db.session.execute(sa.update(Document).where(Document.id == doc.id)
                           .values(rendering_started_at=now_utc() - timedelta(minutes=5)))
        db.session.commit()
        assert sweep.sweep()["requeued"] == 1
        assert storage.store(doc.id, 1, b"%PDF-1.7 half of a stale file", {}) is False
        with pytest.raises(ValueError):
            storage.store(doc.id, 2, b"<html>not a pdf</html>", {})
    assert _doc(app, doc.number).state == DocumentState.QUEUED and _content_rows(app, doc.id) == 0
    assert signed_in(OPERATOR).get(f"/documents/{doc.number}/pdf").status_code == 404
    run_document_worker(app)
    ready = _doc(app, doc.number)
    assert ready.state == DocumentState.READY and ready.attempts == 2 and _content_rows(app, doc.id) == 1


def test_after_too_many_dead_renderings_the_document_fails(app, shop, monkeypatch):
    doc = receipt_of(_paid())
    monkeypatch.setitem(app.config, "DOCUMENT_STUCK_SECONDS", 60)
    with app.app_context():
        db.session.execute(sa.update(Document).where(Document.id == doc.id).values(
            state=DocumentState.RENDERING, attempts=sweep.MAX_ATTEMPTS,
            rendering_started_at=now_utc() - timedelta(minutes=5)))
        db.session.commit()
        assert sweep.sweep()["failed"] == 1
    failed = _doc(app, doc.number)
    assert failed.state == DocumentState.FAILED and failed.failure_code == DocumentFailure.STUCK
    assert "never finished" in failed.failure_reason


def test_a_queued_document_whose_job_is_gone_is_enqueued_again(app, shop, monkeypatch):
    doc = receipt_of(_paid())
    monkeypatch.setitem(app.config, "DOCUMENT_REDISPATCH_SECONDS", 60)
    with app.app_context():
        documents_queue = queue(dispatch.QUEUE)
        documents_queue.empty()  # Redis lost it (or was down when the payment committed)
        assert sweep.sweep()["enqueued"] == 0  # too recent: its job may still be on its way
        db.session.execute(sa.update(Document).where(Document.id == doc.id)
                           .values(queued_at=now_utc() - timedelta(minutes=5)))
        db.session.commit()
        assert sweep.sweep()["enqueued"] == 1
        assert documents_queue.get_job_ids() == [dispatch.job_id(doc.number)]
        assert sweep.sweep()["enqueued"] == 1 and documents_queue.count == 1  # waiting already: not twice
    run_document_worker(app)
    assert _doc(app, doc.number).state == DocumentState.READY


def test_bytes_that_fail_their_checksum_are_never_served(app, shop, signed_in):
    doc = receipt_of(_paid())
    run_document_worker(app)
    with app.app_context():
        db.session.execute(sa.update(DocumentContent).where(DocumentContent.document_id == doc.id)
                           .values(content=b"%PDF-1.7 tampered"))
        db.session.commit()
    assert signed_in(FINANCE).get(f"/documents/{doc.number}/pdf").status_code == 500


def test_rendering_is_on_the_lowest_queue_and_the_sweep_on_the_schedule():
    assert QUEUE_NAMES[-1] == dispatch.QUEUE == "documents"
    assert cron.sweep_documents is sweep_documents


def test_a_retry_from_the_list_answers_htmx_with_its_row(app, shop, signed_in):
    number = failed_receipt(_paid(), "printer on fire (tests)")
    finance = signed_in(FINANCE)
    row = dom(finance.post(f"/documents/{number}/retry", headers={"HX-Request": "true"},
                           data={"csrf_token": csrf_token(finance, "/finance/documents")}).get_data(as_text=True))
    assert row.one("document-row").attrs["data-state"] == "QUEUED"
    other = signed_in("operator@r1002.example")
    token = csrf_token(other, "/wallet")
    assert other.post(f"/documents/{number}/retry", data={"csrf_token": token}).status_code == 404
