"""Documents for screen tests: a merged payment's receipt rendered as the worker renders it (the job
function itself, in an app context of its own), or made to fail with a reason."""

from __future__ import annotations

import hashlib
import io
import re
import signal
import subprocess
from pathlib import Path

import sqlalchemy as sa
from pypdf import PdfReader

from app.domain.enums import DocumentFailure
from app.extensions import db
from app.models import Document
from app.services.documents import failures, receipts, registry, rendering, storage
from app.services.platform.unit_of_work import end_read
from worker import build_worker

from .files import minimal_pdf
from .screen_setup import in_app


@in_app
def receipt_of(merged_payment_id: str) -> Document | None:
    doc = db.session.scalar(sa.select(Document).where(Document.doc_type == receipts.RECEIPT,
                                                      Document.subject == merged_payment_id))
    if doc is not None:
        db.session.expunge(doc)
    end_read()
    return doc


@in_app
def render(document_id: int) -> dict:
    """What the worker's job ``app.jobs.document_rendering.render_document`` does."""
    return rendering.render(document_id)


def rendered_receipt(merged_payment_id: str) -> tuple[str, str]:
    """Render the receipt the payment's success asked for; its number and verification code."""
    doc = receipt_of(merged_payment_id)
    assert doc is not None, "no receipt was requested for " + merged_payment_id
    result = render(doc.id)
    assert result.get("state") == "READY", result
    assert doc.verification_code is not None
    return doc.number, doc.verification_code


@in_app
def render_queued(doc_type: str) -> list[str]:
    """What the worker does for each QUEUED document of that type, oldest first (the real rendering:
    WeasyPrint, pypdf); the state each ends in."""
    ids = list(db.session.scalars(sa.select(Document.id).where(Document.state == "QUEUED",
                                                               Document.doc_type == doc_type).order_by(Document.id)))
    db.session.rollback()
    return [rendering.render(i)["state"] for i in ids]


@in_app
def _store_unprinted(document_id: int) -> None:
    attempt = storage.claim(document_id)
    assert attempt is not None
    doc = db.session.get_one(Document, document_id)
    doc_type = registry.get(doc.doc_type)
    facts = doc_type.facts(doc, doc_type.context(doc))
    end_read()
    assert storage.store(document_id, attempt, minimal_pdf(), facts)


def stored_receipt(merged_payment_id: str) -> tuple[str, str]:
    """The receipt the payment's success asked for, READY with its real facts (what /verify shows)
    but a minimal PDF instead of a WeasyPrint run: for tests of who may have it, not of its print.
    Its number and verification code."""
    doc = receipt_of(merged_payment_id)
    assert doc is not None and doc.verification_code is not None, merged_payment_id
    _store_unprinted(doc.id)
    return doc.number, doc.verification_code


@in_app
def _fail(document_id: int, reason: str) -> None:
    failures.mark_failed(document_id, None, DocumentFailure.RENDER_ERROR, reason)


def failed_receipt(merged_payment_id: str, reason: str = "The template could not be filled (tests).") -> str:
    """The payment's receipt, FAILED with ``reason`` before any worker took it; its number."""
    doc = receipt_of(merged_payment_id)
    assert doc is not None
    _fail(doc.id, reason)
    return doc.number


def run_document_worker(app) -> None:
    """The real RQ worker (worker.build_worker) on the ``documents`` queue until it is empty; the
    signal handlers it installs are put back."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with app.app_context():
            build_worker(["documents"]).work(burst=True)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def pdf_text(pdf: bytes, tmp_path: Path, page: int | None = None) -> str:
    """The PDF's text as poppler's pdftotext reads it (one page, or all)."""
    path = tmp_path / f"doc-{hashlib.sha256(pdf).hexdigest()[:12]}.pdf"
    path.write_bytes(pdf)
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def money_figures(text: str) -> list[str]:
    """Every ``¥1,234.00`` in a text, in order."""
    return re.findall(r"-?¥[\d,]+\.\d\d", text)
