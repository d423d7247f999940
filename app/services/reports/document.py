"""A day's money report as a PDF for finance (docs/DOMAIN.md §8): the ``DAILY_REPORT`` type of the
document pipeline (kind REPORT, no owner company: finance only), its figures from
``daily.daily_report`` — the query of the ``/finance/reports`` screen."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from ...domain.enums import DocumentKind
from ...domain.errors import ValidationFailed
from ...domain.timeutil import shanghai_today
from ...models import Document
from ..charts.figures import amounts_chart
from ..documents import queries as document_queries
from ..documents import registry, requests
from ..documents.queries import DocumentView
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from .daily import DailyReport, daily_report

DAILY_REPORT = "DAILY_REPORT"


def report_version(params: dict[str, Any]) -> str:
    r = daily_report(date.fromisoformat(params["day"]))
    text = repr([(x.key, x.kind, x.received, x.received_count, x.refunded, x.refunded_count)
                 for x in (*r.by_channel, *r.by_type)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def report_context(doc: Document) -> dict[str, Any]:
    report: DailyReport = daily_report(date.fromisoformat(doc.params["day"]))
    return {"report": report, "chart": amounts_chart([(r.key, r.received) for r in report.by_channel],
                                                     title="按渠道收款 Received by channel")}


DAILY_REPORT_TYPE = registry.DocumentType(
    code=DAILY_REPORT, kind=DocumentKind.REPORT, template="print/daily_report.html", context=report_context,
    data_version=report_version, file_name=lambda doc: f"daily-report-{doc.subject}.pdf", owner_may_download=False)


def register() -> None:
    registry.register(DAILY_REPORT_TYPE)


def request_daily_report(actor: Actor, day: date, requested_by_user_id: int | None = None) -> str:
    """Finance asks for the PDF of ``day`` (not a day to come): its number."""
    if day > shanghai_today():
        raise ValidationFailed("that day has not come yet", field="day")
    with transaction():
        return requests.request(actor, DAILY_REPORT, subject=day.isoformat(), reseller_id=None,
                                params={"day": day.isoformat()}, period=(day, day),
                                requested_by_user_id=requested_by_user_id).number


def report_documents(limit: int = 20) -> list[DocumentView]:
    return [d for d in document_queries.listing(None, kinds=[DocumentKind.REPORT.value], limit=limit)
            if d.doc_type == DAILY_REPORT]
