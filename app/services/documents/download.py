"""Handing out a READY document's PDF to who may have it: its owner company (when its type allows)
and finance. Anything else (another company's, unknown, not READY) is None, which the screens
answer with 404: a reseller cannot tell another company's document from one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ...domain.enums import DocumentState
from ...extensions import db
from ...models import Document
from . import registry, storage


@dataclass(frozen=True)
class Download:
    number: str
    file_name: str
    content: bytes


def ready_pdf(number: str, *, reseller_id: int | None) -> Download | None:
    """The PDF of document ``number``: for the company ``reseller_id``, only its own document; with
    ``reseller_id=None`` (finance) any. None when not allowed, not there, or not READY. Raises
    ``storage.ContentMismatch`` if the stored bytes fail their SHA-256 (never served)."""
    doc = db.session.scalar(sa.select(Document).where(Document.number == number))
    if doc is None or doc.state != DocumentState.READY:
        return None
    if reseller_id is not None:
        if doc.reseller_id != reseller_id:
            return None
        if registry.known(doc.doc_type) and not registry.get(doc.doc_type).owner_may_download:
            return None
    name = registry.get(doc.doc_type).file_name(doc) if registry.known(doc.doc_type) else f"{doc.number}.pdf"
    return Download(doc.number, name, storage.content(doc))
