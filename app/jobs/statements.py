"""Monthly statements (``app.services.statements.schedule``): hourly, on the low queue; only the
first day of a month does anything (the renders themselves go to the ``documents`` queue)."""

from __future__ import annotations

from ..services.statements import schedule


def render_monthly_statements() -> dict[str, int | str]:
    return schedule.render_last_month()
