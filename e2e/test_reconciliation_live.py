"""Reconciliation of one ONLINE day in the browser, on the whole stack (real worker, real sandbox
gateway): the reseller pays four orders at the gateway (three paid, one declined); the sandbox's
statement is falsified on purpose for those lines (``statement_line_faults``: one dropped, one amount
changed, one listed twice, the declined one listed as a success) plus a success we never heard of,
and its download is slow; finance asks for today's reconciliation on /finance/reconciliation and
watches the run work and finish without reloading; each class is on the run's row with its count
and in the differences; the day's CSV export carries the same counts. The money invariants hold
after it (tests/support/engine.check_invariants, over the stack's database)."""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet
from playwright.sync_api import Page, expect

from . import steps
from .support import FINANCE, OPERATOR, Stack, shot

CLASSES = ("MATCHED", "AMOUNT_MISMATCH", "STATUS_MISMATCH", "MISSING_IN_SYSTEM", "MISSING_IN_CHANNEL", "DUPLICATE")


def _pay_online(page: Page, stack: Stack, amount: str, decline: bool = False) -> tuple[str, str]:
    """One order paid (or declined) at the gateway; (the channel's code, the gateway's merchant order no)."""
    (order,) = stack.create_orders([amount], desc="对账")
    steps.checkout_orders(page, stack, [order])
    code = steps.allocate(page, order["paymentId"], "ONLINE")
    merged_id = steps.submit_checkout(page)
    link = steps.next_step(page, "ONLINE").locator(f'a[href^="{stack.gateway.base_url}"]')
    expect(link).to_be_visible()
    link.click()
    order_no = page.get_by_test_id("gateway-order").inner_text().strip()
    page.get_by_test_id("gateway-decline" if decline else "gateway-pay").click()
    expect(page).to_have_url(re.compile(re.escape(stack.base_url) + f"/payments/{merged_id}"))
    steps.expect_payment_status(page, "FAILED" if decline else "SUCCEEDED")
    return code, order_no


def _check_invariants(stack: Stack) -> None:
    from app import create_app
    from tests.support.engine import check_invariants

    app = create_app({"DATABASE_URL": stack.database_url, "REDIS_URL": stack.redis_url,
                      "RQ_QUEUE_PREFIX": stack.queue_prefix, "SECRET_KEY": secrets.token_hex(16),
                      "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "SMTP_URL": ""})
    with app.app_context():
        check_invariants(refund_events=False)  # the demo seed's refunds were made without their events
        from app.extensions import db

        db.engine.dispose()


def test_every_class_of_an_online_day_on_screen_live_and_in_the_export(browsing, stack):
    page = browsing.as_user(OPERATOR)
    paid = [_pay_online(page, stack, amount) for amount in ("1201.00", "1302.00", "1403.00")]
    code, declined = _pay_online(page, stack, "1504.00", decline=True)
    assert {c for c, _ in paid} == {code}  # every payment on the one channel whose day is checked
    (_, twice), (_, changed), (_, dropped) = paid
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    stack.gateway.set_faults(statement_delay_ms=-86_400_000, statement_unknown_success=1, statement_latency_ms=2500,
                             statement_line_faults={twice: "duplicate", changed: "amount_change", dropped: "drop",
                                                    declined: "failed_as_success"})
    try:
        desk = browsing.as_user(FINANCE, "/finance/reconciliation?lang=en")
        desk.get_by_test_id("recon-run-day").fill(day)
        desk.get_by_test_id("recon-run-start").click()
        expect(desk).to_have_url(re.compile(rf"/finance/reconciliation\?day={day}"))
        url = desk.url
        row = steps.by_testid(desk, "recon-run-row", day=day, channel=code)
        # The statement takes 2.5 s to come: the run is seen at work, then done, with no reload.
        expect(row).to_have_attribute("data-stage", re.compile("QUEUED|FETCHING"))
        expect(desk.get_by_test_id("recon-runs")).to_have_attribute("hx-trigger", "every 2s")
        shot(desk, "95-finance-reconciliation-working")
        expect(row).to_have_attribute("data-stage", "DONE", timeout=30_000)
        expect(desk.get_by_test_id("recon-runs")).not_to_have_attribute("hx-trigger", "every 2s")
        assert desk.url == url
    finally:
        stack.gateway.set_faults(statement_delay_ms=0, statement_unknown_success=0, statement_latency_ms=0,
                                 statement_line_faults={})
    counts = {c: int(row.locator(f'td[data-class="{c}"]').get_attribute("data-count") or "0") for c in CLASSES}
    assert {c: n for c, n in counts.items() if c != "MATCHED"} == {c: 1 for c in CLASSES if c != "MATCHED"}
    assert counts["MATCHED"] >= 1  # the line listed twice, once; and what other tests paid today
    expect(row).to_have_attribute("data-state", "COMPLETED")
    desk.reload()  # the differences list (filtered to the day, open ones)
    for cls in CLASSES[1:]:
        expect(steps.by_testid(desk, "recon-exception-row", **{"class": cls}).first).to_be_visible()
    shot(desk, "96-finance-reconciliation-every-class")

    desk.get_by_test_id("recon-export-day").fill(day)
    with desk.expect_download() as info:
        desk.get_by_test_id("recon-export-csv").click()
    rows = list(csv.reader(io.StringIO(info.value.path().read_text(encoding="utf-8-sig"))))
    exported = {r[2]: int(r[4]) for r in rows if r[0] == "RUN" and r[1] == code}
    assert exported == counts
    money = {r[2]: Decimal(r[5]) for r in rows if r[0] == "EXCEPTION" and r[1] == code and r[7] == changed}
    assert money == {"AMOUNT_MISMATCH": Decimal("1303.00")}  # the channel's figure: 1.00 more than ours

    _check_invariants(stack)
