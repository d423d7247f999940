"""Business time is Asia/Shanghai; the database stores UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


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
