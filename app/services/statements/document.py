"""The monthly statement as a PDF document (docs/DOMAIN.md §8): the ``STATEMENT`` type of the
document pipeline (services/documents), its data from ``figures.statement_figures`` and
``lines.statement_lines`` — the same query service as the ``/statements`` screen.

A statement prints in parts of ``PART_LINES`` detail lines (``DocumentType.parts``), so 20,000 lines
take bounded memory: the first part has the summary, the aging chart and the first lines; each later
part continues the lines under a repeated table header. When it is READY, ``statement.ready`` goes
to the outbox (in the transaction that makes it READY).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from itertools import islice
from typing import Any

import sqlalchemy as sa

from ...domain.enums import DocumentKind
from ...domain.errors import ValidationFailed
from ...domain.event_types import EventType
from ...extensions import db
from ...models import Document, Reseller
from ..documents import queries as document_queries
from ..documents import registry, requests
from ..documents.queries import DocumentView
from ..notifications import announcements
from ..platform import outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from .chart import aging_chart
from .figures import StatementFigures, statement_figures
from .lines import StatementLine, statement_lines
from .period import Month

STATEMENT = DocumentKind.STATEMENT.value  # the doc_type of a reseller's monthly statement
PART_LINES = 2000  # detail lines per WeasyPrint run: bench/pdf.py measured the choice (docs/ARCHITECTURE.md §12)
CHART_TITLE = "逾期账龄 Aging past the deadline"


def month_of(doc: Document) -> Month:
    return Month.parse(doc.params["month"])


def figures_version(f: StatementFigures) -> str:
    """Changes whenever a figure the statement prints changes (and its line count)."""
    text = repr((f.owed, [(g.key, g.count, g.amount) for g in (*f.orders, *f.payments, *f.refunds)],
                 [(b.label, b.count, b.amount) for b in f.aging.buckets], f.wallet, f.credit, f.line_count,
                 f.as_of.isoformat() if f.as_of < f.end else "final"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def statement_context(doc: Document) -> dict[str, Any]:
    """What the statement prints: its figures, its chart and its lines (read once, in time order)."""
    if doc.reseller_id is None:
        raise registry.BadDocumentData("A statement belongs to a reseller.")
    month = month_of(doc)
    figures = statement_figures(doc.reseller_id, month)
    lines = list(statement_lines(doc.reseller_id, figures.start, figures.end, figures.owed.opening))
    return {"f": figures, "chart": aging_chart(figures.aging, CHART_TITLE), "lines": lines[:PART_LINES],
            "all_lines": lines, "part_lines": PART_LINES}


def statement_parts(context: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The lines after the first part, ``PART_LINES`` at a time."""
    rest: Iterator[StatementLine] = islice(context["all_lines"], context["part_lines"], None)
    while chunk := list(islice(rest, context["part_lines"])):
        yield {"f": context["f"], "lines": chunk}


def statement_version(params: dict[str, Any]) -> str:
    return figures_version(statement_figures(int(params["resellerId"]), Month.parse(params["month"])))


def statement_file_name(doc: Document) -> str:
    return f"statement-{doc.params.get('resellerCode', doc.reseller_id)}-{doc.subject}.pdf"


def emit_statement_ready(doc: Document) -> None:
    """``statement.ready`` for the owner's systems, once per document."""
    outbox.emit(EventType.STATEMENT_READY, "document", doc.number,
                {"documentNumber": doc.number, "resellerCode": doc.params.get("resellerCode"),
                 "month": doc.subject, "sha256": doc.sha256, "sizeBytes": doc.size_bytes},
                event_id=f"evt_stmt_{doc.number}")  # outbox_events.event_id is VARCHAR(40)
    if doc.reseller_id is not None:
        announcements.statement_ready(doc.reseller_id, doc.number, doc.subject)


STATEMENT_TYPE = registry.DocumentType(
    code=STATEMENT, kind=DocumentKind.STATEMENT, template="print/statement.html", context=statement_context,
    data_version=statement_version, file_name=statement_file_name, on_ready=emit_statement_ready,
    parts=statement_parts, part_template="print/statement_lines.html")


def register() -> None:
    registry.register(STATEMENT_TYPE)


def request_statement(actor: Actor, reseller_id: int, reseller_code: str, month: Month,
                      requested_by_user_id: int | None = None) -> Document:
    """The statement of ``month`` for the reseller with its data as it is now (the existing one, or a
    new QUEUED one), in the caller's transaction."""
    return requests.request(actor, STATEMENT, subject=str(month), reseller_id=reseller_id,
                            params={"month": str(month), "resellerId": reseller_id, "resellerCode": reseller_code},
                            period=(month.first_day, month.last_day), requested_by_user_id=requested_by_user_id)


def request_now(actor: Actor, reseller_id: int, month: Month, requested_by_user_id: int | None = None) -> str:
    """A person asks for the statement of ``month`` (not a month still to come): its number."""
    if month > Month.current():
        raise ValidationFailed("that month has not started yet", field="month")
    with transaction():
        code = db.session.scalar(sa.select(Reseller.code).where(Reseller.id == reseller_id))
        return request_statement(actor, reseller_id, str(code), month, requested_by_user_id).number


def statement_documents(reseller_id: int, limit: int = 24) -> list[DocumentView]:
    """The company's statements, newest first (the ``/statements`` list)."""
    return document_queries.listing(reseller_id, kinds=[DocumentKind.STATEMENT.value], limit=limit)
