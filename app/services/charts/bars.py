"""A vertical bar chart in SVG (docs/SCREENS.md "Charts"): one bar per labelled amount, the amount
printed above its bar, the label below. Geometry is computed in Decimal (the amounts are money), so
the same data always gives byte-identical markup; text is XML-escaped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape, quoteattr

TENTH = Decimal("0.1")
BAR_COLOUR = "#2f6fab"
TEXT_COLOUR = "#222222"
AXIS_COLOUR = "#888888"


@dataclass(frozen=True)
class Bar:
    label: str
    amount: Decimal


def _n(value: Decimal) -> str:
    """A coordinate: one decimal, no exponent, no trailing ``.0``."""
    text = format(value.quantize(TENTH, rounding=ROUND_HALF_UP), "f")
    return text[:-2] if text.endswith(".0") else text


def bar_chart(bars: Sequence[Bar], *, title: str, format_amount: Callable[[Decimal], str] = str,
              width: int = 480, height: int = 220, testid: str | None = None, show_values: bool = True) -> str:
    """The chart as one ``<svg>`` element. Negative amounts draw as empty bars (a chart of what is
    owed or paid has none); an all-zero chart draws the axis only. ``title`` is the accessible name
    (``<title>`` and ``aria-label``); ``testid`` adds ``data-testid``; ``show_values=False`` leaves the
    amounts off the bars (a long series, read exactly in the table beside it)."""
    top, bottom, side = Decimal(24), Decimal(28), Decimal(12)
    plot_h = Decimal(height) - top - bottom
    plot_w = Decimal(width) - 2 * side
    peak = max((b.amount for b in bars if b.amount > 0), default=Decimal(0))
    slot = plot_w / max(len(bars), 1)
    bar_w = slot * Decimal("0.6")
    base = top + plot_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)} class="chart"'
        + (f' data-testid={quoteattr(testid)}' if testid else "") + ">",
        f"<title>{escape(title)}</title>",
        f'<line x1="{_n(side)}" y1="{_n(base)}" x2="{_n(side + plot_w)}" y2="{_n(base)}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>',
    ]
    for i, bar in enumerate(bars):
        h = plot_h * bar.amount / peak if peak > 0 and bar.amount > 0 else Decimal(0)
        x = side + slot * i + (slot - bar_w) / 2
        centre = x + bar_w / 2
        parts.append(f'<rect x="{_n(x)}" y="{_n(base - h)}" width="{_n(bar_w)}" height="{_n(h)}" '
                     f'fill="{BAR_COLOUR}" data-amount="{bar.amount}"/>')
        if show_values:
            parts.append(f'<text x="{_n(centre)}" y="{_n(base - h - 6)}" text-anchor="middle" font-size="11" '
                         f'fill="{TEXT_COLOUR}">{escape(format_amount(bar.amount))}</text>')
        parts.append(f'<text x="{_n(centre)}" y="{_n(base + 18)}" text-anchor="middle" font-size="12" '
                     f'fill="{TEXT_COLOUR}">{escape(bar.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
