"""A statement's period: one calendar month in Asia/Shanghai (docs/DOMAIN.md §8), and its bounds in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from ...domain.errors import ValidationFailed
from ...domain.timeutil import shanghai_day_bounds, shanghai_today

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``YYYY-MM`` (the value of an ``<input type=month>``); anything else is a ValidationFailed."""
        found = _MONTH.match((text or "").strip())
        if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
            raise ValidationFailed("month must be YYYY-MM", field="month")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def containing(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def current(cls) -> Month:
        return cls.containing(shanghai_today())

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.next().first_day.toordinal() - 1)

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) of the month in UTC: Shanghai midnight of the 1st to midnight of the next 1st."""
        return shanghai_day_bounds(self.first_day)[0], shanghai_day_bounds(self.next().first_day)[0]

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
