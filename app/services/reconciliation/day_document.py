"""A reconciliation day as a PDF, a type of the documents pipeline (``RECONCILIATION_DAY``, kind REPORT,
no owner company: finance only), printed by the worker with WeasyPrint like the daily report. Its
rows are ``day_export.rows``: the CSV/XLSX export's, which are the finance API's figures, so the
PDF, the spreadsheets, the screen and the API agree. A new request for a day whose figures have not
changed returns the document already made (``data_version``)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from ...domain.enums import DocumentKind
from ...domain.errors import ValidationFailed
from ...domain.timeutil import in_date_range, shanghai_today
from ...models import Document
from ..documents import queries as document_queries
from ..documents import registry, requests
from ..documents.queries import DocumentView
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from . import day_export

RECONCILIATION_DAY = "RECONCILIATION_DAY"


def _rows(params: dict[str, Any]) -> list[day_export.Row]:
    return list(day_export.rows(date.fromisoformat(params["day"])))


def day_version(params: dict[str, Any]) -> str:
    return hashlib.sha256(repr(_rows(params)).encode()).hexdigest()[:32]


def day_context(doc: Document) -> dict[str, Any]:
    by_section: dict[str, list[day_export.Row]] = {}
    for row in _rows(doc.params):
        by_section.setdefault(str(row[0]), []).append(row)
    return {"day": doc.params["day"], "sections": by_section}


RECONCILIATION_DAY_TYPE = registry.DocumentType(
    code=RECONCILIATION_DAY, kind=DocumentKind.REPORT, template="print/reconciliation_day.html",
    context=day_context, data_version=day_version, owner_may_download=False,
    file_name=lambda doc: f"reconciliation-{doc.params['day']}.pdf")


def register() -> None:
    registry.register(RECONCILIATION_DAY_TYPE)


def request_day_pdf(actor: Actor, day: date, requested_by_user_id: int | None = None) -> str:
    """Finance asks for the PDF of a reconciliation day (not a day to come): its number."""
    if not in_date_range(day) or day > shanghai_today():
        raise ValidationFailed("that day has not come yet", field="exportDay")
    with transaction():
        return requests.request(actor, RECONCILIATION_DAY, subject=day.isoformat(),
                                reseller_id=None, params={"day": day.isoformat()}, period=(day, day),
                                requested_by_user_id=requested_by_user_id).number


def day_documents(limit: int = 20) -> list[DocumentView]:
    """The reconciliation days' PDFs, newest first."""
    return [d for d in document_queries.listing(None, kinds=[DocumentKind.REPORT.value], limit=limit)
            if d.doc_type == RECONCILIATION_DAY]
