"""The stack is up and a person can sign in and out through the real sign-in form."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .support import OPERATOR, shot


def test_sign_in_page_then_dashboard(browsing, stack):
    page = browsing.anonymous()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$|/login\?next=/$|/login$"))
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    shot(page, "01-sign-in")

    page.get_by_test_id("login-email").fill(OPERATOR)
    page.get_by_test_id("login-password").fill("not the password")
    page.get_by_test_id("login-submit").click()
    expect(page.locator(".field-error")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login"))

    page.get_by_test_id("login-password").fill(stack.password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".who")).to_contain_text(OPERATOR)
    shot(page, "02-dashboard")

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_test_id("flash").first).to_be_visible()


def test_the_sandbox_gateway_and_the_worker_run(stack):
    assert stack.gateway.stats() is not None
    made = stack.create_orders(["1234.56"])
    assert made[0]["paymentStatus"] == "UNPAID"
    stack.check_alive()
