"""The statement's one chart: the aging of what is past its deadline, a bar per bucket (the same SVG
on the screen and in the PDF)."""

from __future__ import annotations

from markupsafe import Markup

from ..charts.figures import amounts_chart
from .aging import Aging


def aging_chart(aging: Aging, title: str) -> Markup:
    return amounts_chart([(b.label, b.amount) for b in aging.buckets], title=title, testid="statement-chart")
