"""The document types: what each one renders and from what. A type is registered once at start-up
(``services/connections.connect_areas``); the pipeline looks it up by the ``doc_type`` of a row.

To add a kind of document (say the monthly statement), an area writes a template under
``templates/print/`` and registers::

    registry.register(DocumentType(
        code="STATEMENT", kind=DocumentKind.STATEMENT, template="print/statement.html",
        context=statement_context,          # (Document) -> dict: what the template shows
        data_version=statement_version,     # (params) -> str: changes when the figures change
        file_name=lambda doc: f"statement-{doc.subject}.pdf",
        on_ready=emit_statement_ready))     # optional, in the transaction that makes it READY

then requests it with ``requests.request(actor, "STATEMENT", subject=..., reseller_id=..., params=...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ...domain.enums import DocumentKind
from ...models import Document


class BadDocumentData(Exception):
    """Raised by a type's ``context`` when the data cannot make this document (the payment is not
    paid, the month has not ended). Its message is shown to people as the failure reason."""


def _default_file_name(doc: Document) -> str:
    return f"{doc.number}.pdf"


def _no_facts(doc: Document, context: dict[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class DocumentType:
    code: str  # the rows' doc_type, e.g. RECEIPT
    kind: DocumentKind  # what the screens call it (data-kind)
    template: str  # a Jinja template, rendered to HTML and printed by WeasyPrint
    # (Document) -> the template's variables, read from the database when the worker renders it
    context: Callable[[Document], dict[str, Any]]
    # (params) -> a short text that changes whenever the data the document shows changes: a request
    # for the same subject and the same version returns the existing document
    data_version: Callable[[dict[str, Any]], str]
    file_name: Callable[[Document], str] = _default_file_name
    # A public verification code and QR code (/verify/<code>) printed on the document.
    verifiable: bool = False
    # (Document, context) -> the key facts /verify/<code> confirms (no sensitive data)
    facts: Callable[[Document, dict[str, Any]], dict[str, Any]] = _no_facts
    # Called in the transaction that makes the document READY (an event for the owner, say).
    on_ready: Callable[[Document], None] | None = None
    # Who may download it besides finance: the owner company (False: finance only).
    owner_may_download: bool = True
    # A long document prints in parts (``parts.print_in_parts``: each part its own WeasyPrint run,
    # joined with pypdf, page numbers written over the whole), so its memory stays bounded whatever
    # its length: (context) -> the variables of each part after the first, each rendered with
    # ``part_template``. None: one run of ``template``.
    parts: Callable[[dict[str, Any]], Iterator[dict[str, Any]]] | None = None
    part_template: str | None = None


_TYPES: dict[str, DocumentType] = {}


def register(doc_type: DocumentType) -> None:
    """Add a type (registering the same code again replaces it: create_app runs once per app)."""
    _TYPES[doc_type.code] = doc_type


def get(code: str) -> DocumentType:
    """The type named ``code``; KeyError for a type nobody registered."""
    return _TYPES[code]


def known(code: str) -> bool:
    return code in _TYPES


def codes() -> list[str]:
    return sorted(_TYPES)
