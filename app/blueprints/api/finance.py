"""The finance system's reconciliation and statistics (docs/API.md §7, scope ``finance``)."""

from __future__ import annotations

import datetime as dt

from ...domain.enums import Scope
from ...domain.errors import ValidationFailed
from ...domain.timeutil import in_date_range
from ...services.reconciliation import queries, statistics
from .auth import require_scopes
from .blueprint import bp
from .finance_schemas import (
    DATE_PATH,
    ExceptionOut,
    ExceptionsQuery,
    PaymentStatisticsIn,
    ReconciliationDayOut,
    StatisticsOut,
)
from .http import json_body, ok, page_data, query_args, validate
from .openapi import operation
from .schemas import PageOut, PageQuery

PREFIX = "/integration/finance"


def _day(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None or not in_date_range(day):
        raise ValidationFailed("must be a valid date yyyy-mm-dd", field="date")
    return day


def _paging(page: int | None, size: int | None) -> tuple[int, int]:
    return page or 1, min(size or 50, queries.MAX_PAGE_SIZE)


@bp.get(f"{PREFIX}/reconciliation/<date>")
@operation("get", f"{PREFIX}/reconciliation/{{date}}", "A day's reconciliation data (Asia/Shanghai day)",
           scopes=(Scope.FINANCE,), query=PageQuery, response=ReconciliationDayOut, tag="finance",
           path_schemas={"date": DATE_PATH})
@require_scopes(Scope.FINANCE)
def reconciliation_day(date: str):
    q = query_args(PageQuery)
    page, size = _paging(q.page, q.pageSize)
    return ok(queries.day_view(_day(date), page, size))


@bp.get(f"{PREFIX}/reconciliation/<date>/exceptions")
@operation("get", f"{PREFIX}/reconciliation/{{date}}/exceptions", "A day's reconciliation exceptions",
           scopes=(Scope.FINANCE,), query=ExceptionsQuery, response=PageOut[ExceptionOut], tag="finance",
           path_schemas={"date": DATE_PATH})
@require_scopes(Scope.FINANCE)
def reconciliation_exceptions(date: str):
    q = query_args(ExceptionsQuery)
    page, size = _paging(q.page, q.pageSize)
    found = queries.exceptions(queries.ExceptionFilter(_day(date), q.state, q.exceptionClass, q.channel), page, size)
    return ok(page_data(found.items, found.page, found.page_size, found.total))


@bp.post(f"{PREFIX}/payment-statistics")
@operation("post", f"{PREFIX}/payment-statistics", "Paid, refunded and net amounts grouped by type, channel, "
           "reseller or day", scopes=(Scope.FINANCE,), body=PaymentStatisticsIn, response=StatisticsOut,
           tag="finance")
@require_scopes(Scope.FINANCE)
def payment_statistics():
    body = validate(PaymentStatisticsIn, json_body())
    if len(set(body.groupBy)) != len(body.groupBy):
        raise ValidationFailed("each grouping at most once", field="groupBy")
    page, size = _paging(body.page, body.pageSize)
    items = statistics.statistics(body.from_, body.to, list(body.groupBy))
    return ok(page_data(items[(page - 1) * size: page * size], page, size, len(items)))
