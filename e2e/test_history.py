"""The back button on every screen that pushes its URL with HTMX (``hx-push-url``) shows the whole
page, never a bare fragment.

For each such screen: open it, make two HTMX navigations that push a URL (a filter, a page of the
list), clear htmx's history cache (``localStorage["htmx-history-cache"]``; the portal keeps none,
``historyCacheSize: 0``) and go back. That back is a ``popstate`` inside the same document, so htmx
restores the previous URL from the server: a request with ``HX-History-Restore-Request`` (and, in
htmx 2, ``HX-Request``), whose answer replaces the whole ``<body>``. A server that answered it with
the list fragment would leave a page with no header, navigation or heading. Then the person leaves
for another screen (a full page load), and back again: the pushed URL loads as a page of its own.

The screens (every ``hx-push-url`` in app/templates): the order list's filter, sort and pages, the
payment history's filter, the wallet's entry-type filter, and finance's vouchers, refunds and
disbursements filters. (The credit screen's record tabs and all other pagination links are plain
links: full page loads, no HTMX history.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from .support import FINANCE, OPERATOR


@dataclass
class Step:
    """One HTMX navigation: ``act(page)`` triggers it; the URL it pushes contains ``pushes``."""

    act: Callable[[Page], None]
    pushes: str


def choose(form: str, field: str, option: int, submit: bool = False) -> Callable[[Page], Step]:
    """A step that picks the option-th option of ``form``'s select ``field`` (and submits the form
    when it is not sent on change)."""

    def make(page: Page) -> Step:
        select = page.locator(form).locator(f'select[name="{field}"]')
        value = select.locator("option").nth(option).get_attribute("value")
        assert value, f"{form} {field}: option {option} has no value"

        def act(p: Page) -> None:
            select.select_option(value)
            if submit:
                p.locator(form).locator('button[type="submit"]').click()

        return Step(act, f"{field}={value}")

    return make


def search(form: str, field: str, text: str) -> Callable[[Page], Step]:
    def make(page: Page) -> Step:
        def act(p: Page) -> None:
            p.locator(form).locator(f'input[name="{field}"]').fill(text)
            p.locator(form).locator('button[type="submit"]').click()

        return Step(act, f"{field}={text}")

    return make


def next_page(number: int) -> Callable[[Page], Step]:
    return lambda page: Step(lambda p: p.get_by_test_id("page-next").click(), f"page={number}")


def sort_by(column_text: str, key: str) -> Callable[[Page], Step]:
    return lambda page: Step(lambda p: p.locator("table.orders th a", has_text=column_text).first.click(),
                             f"sort={key}")


ORDERS_FORM = '[data-testid="order-filter-form"]'
VOUCHERS_FORM = 'form[hx-get*="/finance/vouchers"]'  # (no test id of its own)
SCREENS = {
    # name: (who, start URL, first navigation, second navigation); the back button returns to the first
    "orders-filter": (OPERATOR, "/orders?lang=en", choose(ORDERS_FORM, "channel", 1),
                      choose(ORDERS_FORM, "sort", 2)),
    "orders-pages": (OPERATOR, "/orders?lang=en", next_page(2), next_page(3)),
    "orders-sort": (OPERATOR, "/orders?lang=en", sort_by("Amount", "-amount"), next_page(2)),
    "payments": (OPERATOR, "/payments", choose('[data-testid="payment-filter-form"]', "status", 1),
                 choose('[data-testid="payment-filter-form"]', "status", 2)),
    "wallet": (OPERATOR, "/wallet", choose('form[hx-get*="/wallet"]', "type", 1),
               choose('form[hx-get*="/wallet"]', "type", 2)),
    "finance-vouchers": (FINANCE, "/finance/vouchers", search(VOUCHERS_FORM, "reference", "NOSUCH1"),
                         search(VOUCHERS_FORM, "reference", "NOSUCH2")),
    "finance-refunds": (FINANCE, "/finance/refunds", choose('[data-testid="refund-filter-form"]', "status", 1, True),
                        choose('[data-testid="refund-filter-form"]', "status", 2, True)),
    "finance-disbursements": (FINANCE, "/finance/disbursements",
                              choose('[data-testid="payout-filter-form"]', "status", 1, True),
                              choose('[data-testid="payout-filter-form"]', "status", 2, True)),
}

LISTEN_FOR_RESTORE = """() => {
  localStorage.removeItem("htmx-history-cache");
  window.__historyRestored = null;
  document.addEventListener("htmx:historyRestore", (e) => { window.__historyRestored = e.detail; }, {once: true});
}"""


def push(page: Page, make: Callable[[Page], Step]) -> str:
    """Runs one HTMX navigation; waits for its answer and the URL it pushed."""
    step = make(page)
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"
                              and step.pushes in r.url) as answer:
        step.act(page)
    assert answer.value.ok, f"{answer.value.url} answered {answer.value.status}"
    expect(page).to_have_url(re.compile(re.escape(step.pushes)))
    return page.url


def assert_whole_page(page: Page, heading: str, url: str) -> None:
    """The page's own header (brand, navigation, language switch, sign-out) and heading, once each:
    not a bare fragment, and not a page inside a page."""
    expect(page).to_have_url(url)
    expect(page.locator("body > header.topbar")).to_have_count(1)
    expect(page.locator("nav.mainnav")).to_have_count(1)
    expect(page.get_by_test_id("lang-switch")).to_have_count(1)
    expect(page.get_by_test_id("logout")).to_have_count(1)
    expect(page.locator("body > main.page h1").first).to_have_text(heading)
    expect(page.locator("h1")).to_have_count(1)


@pytest.mark.parametrize("screen", list(SCREENS))
def test_back_button_restores_the_whole_page(browsing, screen):
    who, start, first, second = SCREENS[screen]
    page = browsing.as_user(who, start)
    heading = page.locator("main.page h1").first.inner_text()
    assert heading

    first_url = push(page, first)
    push(page, second)

    # Back inside the document: htmx asks the server (cache miss) and swaps in its answer.
    page.evaluate(LISTEN_FOR_RESTORE)
    with page.expect_response(lambda r: r.request.headers.get("hx-history-restore-request") == "true") as restore:
        page.go_back()
    assert restore.value.status == 200, restore.value.status
    assert restore.value.request.headers.get("hx-request") == "true"  # htmx 2: historyRestoreAsHxRequest
    page.wait_for_function("() => window.__historyRestored !== null")
    assert_whole_page(page, heading, first_url)

    # Away to another screen (a full page load) and back: the pushed URL is a page of its own.
    page.goto("/")
    page.evaluate('() => localStorage.removeItem("htmx-history-cache")')
    page.go_back()
    assert_whole_page(page, heading, first_url)
