"""Business time is Asia/Shanghai; the database stores UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The dates the portal takes from input (API fields, screen filters): a business date far outside
# these is a typo, and near the ends of the calendar the Shanghai/UTC conversions and the day bounds
# of a filter leave the range of ``datetime`` (year 1 minus 8 hours, 9999-12-31 plus a day).
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(9998, 12, 31)


def in_date_range(d: date) -> bool:
    return FIRST_DATE <= d <= LAST_DATE


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_shanghai_iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(SHANGHAI).isoformat(timespec="seconds")


def parse_datetime(text: str) -> datetime:
    """ISO 8601 date-time; without an offset it is read as Shanghai time. A bare date is the end of that day."""
    text = text.strip()
    if len(text) == 10:
        d = date.fromisoformat(text)
        return datetime.combine(d, time(23, 59, 59), SHANGHAI).astimezone(UTC)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    return dt.astimezone(UTC)


def shanghai_day_bounds(d: date) -> tuple[datetime, datetime]:
    """[start, end) of a Shanghai calendar day, in UTC."""
    start = datetime.combine(d, time(0, 0), SHANGHAI).astimezone(UTC)
    return start, start + timedelta(days=1)


def shanghai_today() -> date:
    return utcnow().astimezone(SHANGHAI).date()
