"""Payment statistics over a range of Shanghai days (docs/API.md §7 ``payment-statistics``):
paid, refunded, net and counts grouped by any of payment type, channel, reseller and day. By day,
each day is one window (at most ``MAX_DAYS`` of them), so no database-specific date arithmetic is
needed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ...domain.errors import ValidationFailed
from ...domain.timeutil import shanghai_day_bounds
from . import figures as money

MAX_DAYS = 366
GROUP_NAMES = ("paymentType", "channel", "reseller", "day")


def statistics(first: date, last: date, group_by: list[str]) -> list[dict]:
    if last < first:
        raise ValidationFailed("must not be before from", field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(f"a range is at most {MAX_DAYS} days", field="to")
    columns = [money.GROUPS[g] for g in group_by if g != "day"]
    names = [g for g in group_by if g != "day"]
    if "day" in group_by:
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        windows: list[tuple[date | None, datetime, datetime]] = [(d, *shanghai_day_bounds(d)) for d in days]
    else:
        windows = [(None, shanghai_day_bounds(first)[0], shanghai_day_bounds(last)[1])]
    items = []
    for day, start, end in windows:
        for f in money.figures(start, end, columns):
            keys = dict(zip(names, f.keys, strict=True))
            if day is not None:
                keys["day"] = day.isoformat()
            items.append({g: keys[g] for g in group_by} | f.view())
    return items
