"""Layout at the width docs/SCREENS.md promises ("works at 1280 px"): what a person must read is not cut off."""

from __future__ import annotations

import pytest

from .support import OPERATOR, shot

# The order-id field's placeholder, measured in the field's own font, against the room inside the
# field. (An input's scrollWidth does not count its placeholder: it equals clientWidth even when
# the placeholder is cut off, so the text is measured instead, and again as the field's value.)
MEASURE = """(input) => {
  const style = getComputedStyle(input);
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const context = document.createElement("canvas").getContext("2d");
  context.font = style.font;
  const before = input.value;
  input.value = input.placeholder;  // no event: htmx does not see it
  const asValue = {scroll: input.scrollWidth, client: input.clientWidth};
  input.value = before;
  return {placeholder: input.placeholder, text: context.measureText(input.placeholder).width, room, asValue};
}"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_order_id_placeholder_is_whole_at_1280_px(browsing, lang):
    page = browsing.as_user(OPERATOR, f"/orders?lang={lang}")
    page.set_viewport_size({"width": 1280, "height": 800})
    field = page.get_by_test_id("order-filter-form").locator('input[name="orderId"]')
    field.wait_for()
    m = field.evaluate(MEASURE)
    assert m["placeholder"], m
    assert m["text"] <= m["room"], f"the placeholder needs {m['text']:.0f} px, the field has {m['room']:.0f} px: {m}"
    assert m["asValue"]["scroll"] <= m["asValue"]["client"], m
    shot(page, f"orders-filter-1280-{lang}")
