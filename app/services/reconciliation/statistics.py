"""Payment statistics over a range of Shanghai days (docs/API.md §7 ``payment-statistics``):
paid, refunded, net and counts grouped by any of payment type, channel, reseller and day. By day,
each day is one window (at most ``MAX_DAYS`` of them), so no database-specific date arithmetic is
needed.

``statistics_rows`` is the one computation: the API's ``payment-statistics`` answers its rows as JSON
(``statistics``) and the ``/finance/reports`` range report (app/services/reports/range.py) shows,
exports and prints the same rows, so both always agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ...domain.errors import ValidationFailed
from ...domain.timeutil import shanghai_day_bounds
from . import figures as money

MAX_DAYS = 366
GROUP_NAMES = ("paymentType", "channel", "reseller", "day")


@dataclass(frozen=True)
class StatisticsRow:
    """One group: its keys by group name (in the order asked; a day as ``YYYY-MM-DD``) and its figures."""

    keys: dict[str, str]
    figures: money.Figures

    def view(self) -> dict:
        return self.keys | self.figures.view()


def check_range(first: date, last: date) -> None:
    if last < first:
        raise ValidationFailed("must not be before from", field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(f"a range is at most {MAX_DAYS} days", field="to")


def statistics_rows(first: date, last: date, group_by: list[str]) -> list[StatisticsRow]:
    """The figures of successful transactions final from the start of ``first`` to the end of ``last``
    (Shanghai days), a row per group that has any, ordered by day and then by the keys."""
    check_range(first, last)
    unknown = [g for g in group_by if g not in GROUP_NAMES]
    if unknown:
        raise ValidationFailed(f"unknown grouping {unknown[0]}", field="groupBy")
    columns = [money.GROUPS[g] for g in group_by if g != "day"]
    names = [g for g in group_by if g != "day"]
    if "day" in group_by:
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        windows: list[tuple[date | None, datetime, datetime]] = [(d, *shanghai_day_bounds(d)) for d in days]
    else:
        windows = [(None, shanghai_day_bounds(first)[0], shanghai_day_bounds(last)[1])]
    rows = []
    for day, start, end in windows:
        for f in money.figures(start, end, columns):
            keys = dict(zip(names, f.keys, strict=True))
            if day is not None:
                keys["day"] = day.isoformat()
            rows.append(StatisticsRow({g: keys[g] for g in group_by}, f))
    return rows


def statistics(first: date, last: date, group_by: list[str]) -> list[dict]:
    """The API's items: ``statistics_rows`` as JSON objects."""
    return [row.view() for row in statistics_rows(first, last, group_by)]
