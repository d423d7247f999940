"""The read side of reconciliation for the finance API (docs/API.md §7): a day's figures (in total,
by payment type, by channel with its run, by reseller), its transactions page by page, and the
exceptions of the day's runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import ReconClass, ReconExceptionState
from ...domain.timeutil import shanghai_day_bounds, to_shanghai_iso
from ...extensions import db
from ...models import Channel, ReconciliationException, ReconciliationRun, Reseller
from ..platform.paging import Page
from . import figures as money

MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class ExceptionFilter:
    day: date | None
    state: str | None = None
    exception_class: str | None = None
    channel: str | None = None


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def exception_view(e: ReconciliationException, run: ReconciliationRun) -> dict:
    return {
        "exceptionId": str(e.id), "reconciliationDate": run.day.isoformat(), "channelCode": run.channel_code,
        "channelKind": run.channel_kind, "exceptionClass": e.exception_class, "state": e.state,
        "channelTransactionId": e.channel_transaction_id, "channelPaymentNo": e.reference,
        "channelAmount": _amount(e.channel_amount), "ourAmount": _amount(e.our_amount),
        "channelStatus": e.channel_status, "ourStatus": e.our_status, "createdAt": to_shanghai_iso(e.created_at),
        "resolvedBy": e.resolved_by, "resolvedAt": to_shanghai_iso(e.resolved_at),
        "resolutionNote": e.resolution_note,
    }


def _exceptions_query(f: ExceptionFilter) -> sa.Select[ReconciliationException, ReconciliationRun]:
    q = (sa.select(ReconciliationException, ReconciliationRun)
         .join(ReconciliationRun, ReconciliationRun.id == ReconciliationException.run_id))
    if f.day:
        q = q.where(ReconciliationRun.day == f.day)
    if f.state:
        q = q.where(ReconciliationException.state == f.state)
    if f.exception_class:
        q = q.where(ReconciliationException.exception_class == f.exception_class)
    if f.channel:
        q = q.where(ReconciliationRun.channel_code == f.channel)
    return q


def exceptions(f: ExceptionFilter, page: int = 1, size: int = 50) -> Page:
    q = _exceptions_query(f)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
    rows = db.session.execute(q.order_by(ReconciliationException.id).offset((page - 1) * size).limit(size)).all()
    return Page([exception_view(e, run) for e, run in rows], page, size, int(total))


def recent_runs(day: date | None = None, limit: int = 60) -> list[ReconciliationRun]:
    """The screen's runs: newest day first, then by channel (one day's, when given)."""
    q = sa.select(ReconciliationRun).order_by(ReconciliationRun.day.desc(), ReconciliationRun.channel_code)
    if day:
        q = q.where(ReconciliationRun.day == day)
    return list(db.session.scalars(q.limit(limit)))


def _runs(day: date) -> dict[str, ReconciliationRun]:
    return {r.channel_code: r for r in db.session.scalars(sa.select(ReconciliationRun)
                                                          .where(ReconciliationRun.day == day))}


def _channel_rows(day: date, start: datetime, end: datetime) -> list[dict]:
    by_code = {f.keys[0]: f for f in money.figures(start, end, [money.GROUPS["channel"]])}
    runs = _runs(day)
    kinds = dict(db.session.execute(sa.select(Channel.code, Channel.kind)).all())
    out = []
    for code in sorted(set(by_code) | set(runs)):
        f = by_code.get(code, money.ZERO_FIGURES)
        run = runs.get(code)
        classes = {k: v for k, v in (run.figures if run else {}).items() if isinstance(v, dict)}
        out.append({"channelCode": code, "channelKind": kinds.get(code, run.channel_kind if run else ""),
                    **f.view(), "reconciliationStatus": run.state if run else "NOT_RECONCILED",
                    "matchedCount": int(classes.get(ReconClass.MATCHED, {}).get("count", 0)),
                    "exceptionCount": run.exception_count if run else 0,
                    "reconciledAt": to_shanghai_iso(run.completed_at) if run else None})
    return out


def day_view(day: date, page: int, size: int) -> dict:
    start, end = shanghai_day_bounds(day)
    total = money.total(start, end)
    names = dict(db.session.execute(sa.select(Reseller.code, Reseller.name)).all())
    details, detail_count = money.details(start, end, page, size)
    all_exceptions = exceptions(ExceptionFilter(day), 1, 10_000)
    open_count = sum(1 for e in all_exceptions.items if e["state"] == ReconExceptionState.OPEN)
    return {
        "reconciliationDate": day.isoformat(),
        "summary": {"totalPaymentAmount": f"{total.paid:.2f}", "totalRefundAmount": f"{total.refunded:.2f}",
                    "netAmount": f"{total.net:.2f}", "totalPaymentCount": total.paid_count,
                    "totalRefundCount": total.refunded_count, "exceptionCount": all_exceptions.total,
                    "openExceptionCount": open_count, "transactionCount": detail_count},
        "businessTypeSummaries": [{"paymentType": f.keys[0], **f.view()}
                                  for f in money.figures(start, end, [money.GROUPS["paymentType"]])],
        "channelSummaries": _channel_rows(day, start, end),
        "resellerSummaries": [{"resellerId": f.keys[0], "resellerName": names.get(f.keys[0], ""), **f.view()}
                              for f in money.figures(start, end, [money.GROUPS["reseller"]])],
        "transactionDetails": [{
            "transactionId": t.transaction_id, "paymentId": payment_id, "orderId": t.order_id,
            "resellerId": reseller, "paymentType": payment_type, "transactionType": t.transaction_type,
            "amount": f"{t.amount:.2f}", "channelCode": t.channel_code, "channelKind": t.channel_kind,
            "channelTransactionId": t.channel_transaction_id,
            "completedAt": to_shanghai_iso(t.completed_at or t.created_at)}
            for t, payment_id, payment_type, reseller in details],
        "exceptionRecords": all_exceptions.items,
        "page": page, "pageSize": size,
    }
