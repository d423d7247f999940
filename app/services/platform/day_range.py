"""A list filter's day range ("from" and "to" days, Shanghai calendar days, both included) as SQL
conditions on a UTC timestamp column."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute

from ...domain.timeutil import shanghai_day_bounds


def on_shanghai_days(column: QueryableAttribute[Any], first: date | None,
                     last: date | None) -> list[sa.ColumnElement[bool]]:
    """``column`` falls on a Shanghai day from ``first`` to ``last``; an end left None is open."""
    conditions: list[sa.ColumnElement[bool]] = []
    if first:
        conditions.append(column >= shanghai_day_bounds(first)[0])
    if last:
        conditions.append(column < shanghai_day_bounds(last)[1])
    return conditions
