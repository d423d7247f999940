"""The charts the screens and PDFs draw from report figures: one place, so the screen and the
document show the same chart for the same data. Returns ``Markup`` (the SVG is built escaped)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from markupsafe import Markup

from ...domain.money import format_cny
from .bars import Bar, bar_chart


def amounts_chart(pairs: Iterable[tuple[str, Decimal]], *, title: str, testid: str | None = None) -> Markup:
    """A bar per (label, amount), amounts printed as ``¥1,250,000.00``."""
    return Markup(bar_chart([Bar(label, amount) for label, amount in pairs], title=title,  # noqa: S704 (escaped SVG)
                            format_amount=format_cny, testid=testid))


def trend_chart(pairs: Iterable[tuple[str, Decimal]], *, title: str, testid: str | None = None) -> Markup:
    """A long series (a bar per day): wider, every fifth label, no amounts on the bars (the table
    beside the chart has them)."""
    bars = [Bar(label if i % 5 == 4 else "", amount) for i, (label, amount) in enumerate(pairs)]
    return Markup(bar_chart(bars, title=title, format_amount=format_cny, width=720,  # noqa: S704 (escaped SVG)
                            testid=testid, show_values=False))
