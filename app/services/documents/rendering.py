"""Rendering a document: the type's data into its HTML template, the HTML into a PDF by WeasyPrint.
Run by the worker only (``app/jobs/document_rendering.py``): the web process never imports this
module or WeasyPrint.

``render(document_id)`` claims the document, reads the data (``DocumentType.context``, the same
query services the screens use) in a read-only transaction (``unit_of_work.begin_read``), fills
the template, ends the read transaction, prints the PDF with
no database transaction open, then stores it (``storage.store``). Any error on the way leaves the
document FAILED with a reason (``failures``); nothing is stored half-way.

The print templates extend ``templates/print/base.html`` (A4, page numbers, repeating table
headers, rows never split across pages, Noto CJK fonts, no script). Their only outside resources
are the app's print assets, through ``fetcher.AssetFetcher``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import segno
from flask import current_app
from weasyprint import HTML

from ...domain.enums import DocumentFailure, DocumentState
from ...domain.timeutil import utcnow
from ...extensions import db
from ...models import Document
from ..platform.unit_of_work import begin_read, end_read
from . import failures, registry, storage, verification
from .fetcher import ASSET_BASE, AssetFetcher
from .parts import print_in_parts

log = logging.getLogger(__name__)


def asset_dir() -> Path:
    assert current_app.static_folder is not None  # the app has its static folder
    return Path(current_app.static_folder) / "print"


def qr_svg(text: str) -> str:
    """``text`` as a QR code, inline SVG (no image to fetch); error correction M survives a crease."""
    return segno.make(text, error="m").svg_inline(scale=3, border=4)


def html_for(doc: Document, doc_type: registry.DocumentType, context: dict[str, Any]) -> str:
    """The document's HTML: the frame's variables (``doc``, ``issued_at``, the verification code and
    its QR code for a verifiable type), then the type's context (which may override ``issued_at``)."""
    variables: dict[str, Any] = {"doc": doc, "issued_at": utcnow()}
    if doc_type.verifiable and doc.verification_code:
        url = verification.verify_url(doc.verification_code)
        variables.update(verify_url=url, verify_code=doc.verification_code, qr_svg=qr_svg(url))
    variables.update(context)
    # The app's Jinja environment (its filters: money, dt) without the screens' context processors,
    # which need a request: the worker has none.
    return current_app.jinja_env.get_template(doc_type.template).render(**variables)


def part_htmls(doc: Document, doc_type: registry.DocumentType, context: dict[str, Any]) -> Iterator[str]:
    """The HTML of each part after the first, made one at a time (``DocumentType.parts``)."""
    assert doc_type.parts is not None and doc_type.part_template is not None
    template = current_app.jinja_env.get_template(doc_type.part_template)
    for variables in doc_type.parts(context):
        yield template.render(doc=doc, **variables)


def pdf_from_html(html: str, fetcher: AssetFetcher | None = None) -> bytes:
    """Print ``html`` (relative links resolve to the print assets) with only ``fetcher``'s reach."""
    fetcher = fetcher or AssetFetcher(asset_dir())
    pdf = HTML(string=html, base_url=ASSET_BASE, url_fetcher=fetcher).write_pdf()
    assert pdf is not None  # write_pdf without a target returns the bytes
    return pdf


def render(document_id: int) -> dict[str, Any]:
    """Render and store one document; a small summary for the job's result."""
    attempt = storage.claim(document_id)
    if attempt is None:
        return {"documentId": document_id, "skipped": "not queued"}
    started = time.perf_counter()
    begin_read()  # the data is read from a snapshot that holds back no writer
    doc = db.session.get_one(Document, document_id)
    number = doc.number
    if not registry.known(doc.doc_type):
        end_read()
        failures.mark_failed(document_id, attempt, DocumentFailure.UNKNOWN_TYPE,
                             f"This worker cannot make documents of type {doc.doc_type}.")
        return {"document": number, "state": DocumentState.FAILED.value}
    try:
        doc_type = registry.get(doc.doc_type)
        context = doc_type.context(doc)
        facts = doc_type.facts(doc, context)
        html = html_for(doc, doc_type, context)
        end_read()  # the data is read: print with no transaction open
        pdf = pdf_from_html(html) if doc_type.parts is None else print_in_parts(
            html, part_htmls(doc, doc_type, context), pdf_from_html, doc.number)
    except Exception as exc:  # any error of the data or the printing: FAILED with its reason
        end_read()
        log.exception("document %s failed to render", number)
        failures.mark_failed(document_id, attempt, *failures.reason_for(exc))
        return {"document": number, "state": DocumentState.FAILED.value}
    if not storage.store(document_id, attempt, pdf, facts):
        return {"document": number, "skipped": "claimed by a later attempt"}
    seconds = round(time.perf_counter() - started, 3)
    log.info("document %s rendered: %d bytes in %.3f s", number, len(pdf), seconds)
    return {"document": number, "state": DocumentState.READY.value, "bytes": len(pdf), "seconds": seconds}
