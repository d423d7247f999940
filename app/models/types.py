"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

# NUMERIC(15,2): amounts up to 9,999,999,999,999.99, always Decimal.
Money = sa.Numeric(15, 2, asdecimal=True)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC on every database (SQLite has no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)
