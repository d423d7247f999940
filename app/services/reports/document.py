"""Finance reports as PDFs (docs/DOMAIN.md §8), types of the document pipeline (kind REPORT, no owner
company: finance only): ``DAILY_REPORT``, a day's money, its figures from ``daily.daily_report`` (the
day screen's query); ``RANGE_REPORT``, a range of days grouped by payment type, channel, reseller or
day, from ``range.range_report`` (the range screen's and the finance API's ``payment-statistics``
rows)."""

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
from .range import RangeReport, range_chart, range_report

DAILY_REPORT = "DAILY_REPORT"
RANGE_REPORT = "RANGE_REPORT"
REPORT_TYPES = (DAILY_REPORT, RANGE_REPORT)


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


def _range_of(params: dict[str, Any]) -> RangeReport:
    return range_report(date.fromisoformat(params["from"]), date.fromisoformat(params["to"]), params["groupBy"])


def range_version(params: dict[str, Any]) -> str:
    r = _range_of(params)
    text = repr([(x.key, x.received, x.received_count, x.refunded, x.refunded_count) for x in r.rows])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def range_context(doc: Document) -> dict[str, Any]:
    report = _range_of(doc.params)
    return {"report": report, "chart": range_chart(report, "收款 Received", name=str)}


RANGE_REPORT_TYPE = registry.DocumentType(
    code=RANGE_REPORT, kind=DocumentKind.REPORT, template="print/range_report.html", context=range_context,
    data_version=range_version, owner_may_download=False,
    file_name=lambda doc: f"report-{doc.params['from']}-{doc.params['to']}-{doc.params['groupBy']}.pdf")


def register() -> None:
    registry.register(DAILY_REPORT_TYPE)
    registry.register(RANGE_REPORT_TYPE)


def request_daily_report(actor: Actor, day: date, requested_by_user_id: int | None = None) -> str:
    """Finance asks for the PDF of ``day`` (not a day to come): its number."""
    if day > shanghai_today():
        raise ValidationFailed("that day has not come yet", field="day")
    with transaction():
        return requests.request(actor, DAILY_REPORT, subject=day.isoformat(), reseller_id=None,
                                params={"day": day.isoformat()}, period=(day, day),
                                requested_by_user_id=requested_by_user_id).number


def request_range_report(actor: Actor, first: date, last: date, group_by: str,
                         requested_by_user_id: int | None = None) -> str:
    """Finance asks for the PDF of a range report (the range checked as the screen and the API
    check it: ValidationFailed naming ``from``, ``to`` or ``groupBy``): its number."""
    if last > shanghai_today():
        raise ValidationFailed("that day has not come yet", field="to")
    range_report(first, last, group_by)  # refuses a bad range or grouping before anything is stored
    with transaction():
        return requests.request(actor, RANGE_REPORT, subject=f"{first.isoformat()}..{last.isoformat()}/{group_by}",
                                reseller_id=None, params={"from": first.isoformat(), "to": last.isoformat(),
                                                          "groupBy": group_by},
                                period=(first, last), requested_by_user_id=requested_by_user_id).number


def report_documents(limit: int = 20) -> list[DocumentView]:
    return [d for d in document_queries.listing(None, kinds=[DocumentKind.REPORT.value], limit=limit)
            if d.doc_type in REPORT_TYPES]
