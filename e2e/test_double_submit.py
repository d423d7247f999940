"""A double submit of the same checkout makes one merged payment: a double click in the browser, and
the same form posted again afterwards (a reload of the POST, a second tab)."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from . import steps
from .support import OPERATOR

# The checkout form exactly as the browser would send it.
FORM_DATA = """() => {
  const form = document.querySelector('[data-testid="checkout-submit"]').form;
  return {action: form.action, fields: Array.from(new FormData(form).entries())};
}"""


def _checkout_of_a_part(browsing, stack, amount: str, desc: str, part: Decimal):
    """The operator's checkout page with ``part`` of a new order of ``amount`` allocated on WIRE, ready
    to submit; returns the page and the order."""
    (order,) = stack.create_orders([amount], desc=desc)
    page = browsing.as_user(OPERATOR)
    steps.checkout_orders(page, stack, [order])
    steps.allocate(page, order["paymentId"], "WIRE", part)
    steps.expect_checkout_total(page, part)
    steps.expect_no_alloc_errors(page)
    return page, order


def _check_one_payment(stack, order, merged_id: str, part: Decimal) -> None:
    payments = [t for t in stack.transactions(order["paymentId"]) if t["transactionType"] == "PAYMENT"]
    assert [(t["mergedPaymentId"], Decimal(t["transactionAmount"])) for t in payments] == [(merged_id, part)]


def test_double_submit_makes_one_merged_payment(browsing, stack):
    # a part only: a second payment of the same amount would still fit, so only the token stops it
    part = Decimal("40000.00")
    page, order = _checkout_of_a_part(browsing, stack, "100000.00", "重复提交", part)
    form = page.evaluate(FORM_DATA)

    page.get_by_test_id("checkout-submit").dblclick()
    expect(page).to_have_url(steps.PAYMENT_URL)
    merged_id = steps.PAYMENT_URL.search(page.url).group(1)
    steps.expect_payment_status(page, "PROCESSING")

    # the same form once more, with the same session
    again = page.request.post(form["action"], form=dict(form["fields"]), max_redirects=0)
    if 300 <= again.status < 400:
        assert again.headers["location"].split("?")[0].endswith(f"/payments/{merged_id}"), again.headers
    else:
        assert again.status in (409, 422), (again.status, again.text()[:500])

    _check_one_payment(stack, order, merged_id, part)
    status = stack.order(order["paymentId"])
    assert Decimal(status["reservedAmount"]) == part
    assert Decimal(status["payableAmount"]) == Decimal("60000.00")


# Both posts leave the browser at the same moment (two tabs, a double click that got through).
RACE = """async () => {
  const form = document.querySelector('[data-testid="checkout-submit"]').form;
  const post = () => fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"});
  const answers = await Promise.all([post(), post()]);
  return answers.map(r => ({status: r.status, url: r.url}));
}"""


def test_two_simultaneous_submits_of_one_checkout_make_one_merged_payment(browsing, stack):
    part = Decimal("25000.00")
    page, order = _checkout_of_a_part(browsing, stack, "90000.00", "并发提交", part)

    answers = page.evaluate(RACE)
    landed = {steps.PAYMENT_URL.search(a["url"]).group(1) for a in answers if steps.PAYMENT_URL.search(a["url"])}
    assert len(landed) == 1, answers  # both end on the one payment (or one is refused)
    (merged_id,) = landed
    assert all(a["status"] in (200, 409, 422) for a in answers), answers

    _check_one_payment(stack, order, merged_id, part)
    assert Decimal(stack.order(order["paymentId"])["reservedAmount"]) == part
