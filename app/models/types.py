"""Column types shared by the models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# NUMERIC(15,2): amounts up to 9,999,999,999,999.99, always Decimal.
Money = sa.Numeric(15, 2, asdecimal=True)


# The length of a stored failure reason (a channel payment's, its transactions'): a channel's text is
# cut to it before it is stored, since PostgreSQL refuses a longer value (and fails the settlement).
REASON_LENGTH = 500


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every database (SQLite has no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def sql_values(members: type[StrEnum] | Iterable[StrEnum]) -> str:
    """An enum's values as the list of a CHECK constraint, in declaration order: ``('A','B')``.

    The text must stay exactly what the migrations wrote, so that a model change never shows up as
    a schema difference; values are the enums' own constant words (no quoting needed)."""
    values = [m.value for m in members]
    if any("'" in v for v in values):
        raise ValueError(f"a quote in a CHECK value: {values}")
    return "(" + ",".join(f"'{v}'" for v in values) + ")"
