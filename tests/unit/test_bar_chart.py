"""The SVG bar chart (app/services/charts/bars.py): attributes only (renders under the CSP and in
WeasyPrint), bars proportional to the amounts, text escaped, the same data the same bytes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from app.services.charts.bars import Bar, bar_chart

NS = "{http://www.w3.org/2000/svg}"


def _svg(bars, **kw):
    return ET.fromstring(bar_chart(bars, title=kw.pop("title", "Aging"), **kw))


def test_bars_are_proportional_and_carry_their_amounts():
    root = _svg([Bar("0-30", Decimal("800.00")), Bar("31-60", Decimal("400.00")), Bar("61-90", Decimal("0.00"))],
                testid="aging-chart")
    rects = root.findall(f"{NS}rect")
    heights = [Decimal(r.get("height")) for r in rects]
    assert heights == [Decimal(168), Decimal(84), Decimal(0)]
    assert [r.get("data-amount") for r in rects] == ["800.00", "400.00", "0.00"]
    assert root.get("data-testid") == "aging-chart" and root.get("role") == "img"
    texts = [t.text for t in root.findall(f"{NS}text")]
    assert texts == ["800.00", "0-30", "400.00", "31-60", "0.00", "61-90"]


def test_no_style_no_script_anywhere():
    markup = bar_chart([Bar("a", Decimal("1.00"))], title="t")
    root = ET.fromstring(markup)
    for element in root.iter():
        assert element.tag not in (f"{NS}style", f"{NS}script", f"{NS}foreignObject")
        assert "style" not in element.attrib and not any(k.startswith("on") for k in element.attrib)


def test_text_is_escaped():
    markup = bar_chart([Bar('<script>alert(1)</script>"', Decimal("5.00"))], title='x" onload="y',
                       format_amount=lambda d: f"¥{d}&")
    root = ET.fromstring(markup)
    assert "<script>" not in markup and root.find(f"{NS}title").text == 'x" onload="y'
    assert root.get("aria-label") == 'x" onload="y' and "onload" not in root.attrib
    assert [t.text for t in root.findall(f"{NS}text")] == ["¥5.00&", '<script>alert(1)</script>"']


def test_all_zero_and_empty_charts_draw_no_bar_height():
    assert all(r.get("height") == "0" for r in _svg([Bar("a", Decimal("0.00"))]).findall(f"{NS}rect"))
    assert _svg([]).findall(f"{NS}rect") == []


def test_same_data_same_bytes():
    bars = [Bar("甲", Decimal("1234567.89")), Bar("乙", Decimal("0.01"))]
    assert bar_chart(bars, title="t") == bar_chart(list(bars), title="t")
