"""/finance: the finance dashboard (docs/SCREENS.md): today's and the month's money by channel and payment
type, the 30-day trend and the channel split (charts, each also a table), success rate, callback delay,
open vouchers, overdue orders and credit repayment timeliness; finance and admin only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain import numbers
from app.extensions import db
from app.models import BankReceipt, ChannelPayment, CreditRecord, PaymentOrder, ReconciliationException, Reseller
from app.services.dashboards.finance import finance_dashboard
from tests.support import screen_setup
from tests.support.html import dom
from tests.support.screen_setup import HTMX, in_app
from tests.support.statement_world import build_march, shanghai

build = in_app(build_march)


def test_a_day_and_its_month(portal, signed_in):
    build()
    client = signed_in("finance@example.com")
    d = dom(client.get("/finance?day=2026-03-12&lang=en"))
    assert d.one("desk")["data-day"] == "2026-03-12"
    today = (d.one("desk-today-received").text, d.one("desk-today-refunded").text, d.one("desk-today-net").text)
    assert today == ("¥1,200.00", "¥0.00", "¥1,200.00")
    assert [(r["data-key"], r.all(tag="td")[1].text) for r in d.all("desk-today-channel-row")] == [
        ("CREDIT", "¥700.00"), ("WALLET", "¥500.00")]
    assert [r["data-key"] for r in d.all("desk-today-type-row")] == ["FINAL_PAYMENT"]
    assert d.one("desk-success").text.startswith("100.0% / 100.0%")
    # The 20th: the refund of 100.00 that day; the month still holds the 12th's payments (February's do not count).
    later = dom(client.get("/finance?day=2026-03-20&lang=en", headers=HTMX))
    assert (later.one("desk-today-received").text, later.one("desk-today-refunded").text,
            later.one("desk-today-net").text) == ("¥0.00", "¥100.00", "-¥100.00")
    assert (later.one("desk-month-received").text, later.one("desk-month-net").text) == ("¥1,200.00", "¥1,100.00")
    rows = {r["data-day"]: r.all(tag="td")[1].text for r in later.all("desk-trend-row")}
    assert len(rows) == 30 and min(rows) == "2026-02-19" and max(rows) == "2026-03-20"
    assert rows["2026-03-12"] == "¥1,200.00" and rows["2026-03-11"] == "¥0.00"
    bars = later.one("desk-trend-chart").all(tag="rect")
    assert len(bars) == 30 and bars[21]["data-amount"] == "1200.00"  # 2026-03-12 is the 22nd day
    split = later.one("desk-channel-chart").all(tag="rect")
    assert [b["data-amount"] for b in split] == ["700.00", "500.00"]


def test_the_screen_speaks_chinese(portal, signed_in):
    build()
    page = signed_in("finance@example.com").get("/finance?day=2026-03-12&lang=zh").get_data(as_text=True)
    for words in ("财务看板", "近 30 天收款", "按渠道", "信用还款及时性"):
        assert words in page, words


@in_app
def _delays(day: date, *delays: int) -> None:
    """Mark the channel payments completed on ``day`` as ONLINE ones with these callback delays."""
    ids = db.session.scalars(sa.select(ChannelPayment.id).where(ChannelPayment.status == "SUCCESS")
                             .order_by(ChannelPayment.completed_at)).all()
    start = shanghai(day.year, day.month, day.day)
    ids = [i for i in ids if db.session.get(ChannelPayment, i).completed_at >= start.astimezone(UTC)][:len(delays)]
    for pk, ms in zip(ids, delays, strict=True):
        db.session.execute(sa.update(ChannelPayment).where(ChannelPayment.id == pk)
                           .values(channel_kind="ONLINE", result_delay_ms=ms))
    db.session.commit()


def test_success_rate_and_callback_delay(portal, signed_in):
    build()
    _delays(date(2026, 3, 12), 1000, 3000)
    d = in_app(finance_dashboard)(date(2026, 3, 12))
    assert (d.delay_today.count, d.delay_today.average_ms, d.delay_today.p95_ms) == (2, 2000, 3000)
    assert (d.success_today.succeeded, d.success_today.ended, d.success_today.percent) == (2, 2, Decimal("100.0"))
    in_app(lambda: (db.session.execute(sa.update(ChannelPayment).where(ChannelPayment.result_delay_ms == 3000)
                                       .values(status="FAILED")), db.session.commit()))()
    d = in_app(finance_dashboard)(date(2026, 3, 12))
    assert (d.success_today.succeeded, d.success_today.ended, d.success_today.percent) == (1, 2, Decimal("50.0"))
    page = dom(signed_in("finance@example.com").get("/finance?day=2026-03-12&lang=en"))
    assert page.one("desk-success").text.startswith("50.0%")
    assert page.one("desk-delay-today").text == "2.0 s average, 3.0 s p95"  # a failed result has a delay too


@in_app
def _credit_records() -> None:
    """Due in March 2026 (and so counted on 2026-03-20): on time, late, overdue (300.00), not yet due;
    one due in February is not counted."""
    rid = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == "R1001"))
    rows = [(date(2026, 3, 5), "0.00", shanghai(2026, 3, 5, 23, 59)),
            (date(2026, 3, 6), "0.00", shanghai(2026, 3, 7, 0, 1)),
            (date(2026, 3, 10), "300.00", None), (date(2026, 3, 25), "500.00", None),
            (date(2026, 2, 27), "400.00", None)]
    for due, outstanding, updated in rows:
        rec = CreditRecord(credit_record_id=numbers.credit_record_id(), reseller_id=rid, order_id="SO-CR",
                           amount=Decimal("500.00"), outstanding_amount=Decimal(outstanding), due_date=due,
                           status="OPEN" if outstanding != "0.00" else "REPAID")
        db.session.add(rec)
        db.session.flush()
        if updated is not None:
            db.session.execute(sa.update(CreditRecord).where(CreditRecord.id == rec.id).values(updated_at=updated))
    db.session.commit()


def test_credit_repayment_timeliness(portal, signed_in):
    _credit_records()
    page = dom(signed_in("finance@example.com").get("/finance?day=2026-03-20&lang=en"))
    figures = [page.one(f"desk-credit-{k}").text for k in ("on-time", "late", "overdue", "not-due")]
    assert figures == ["1", "1", "1", "1"]
    assert "¥300.00" in page.one("desk-credit").text


def test_overdue_orders_and_open_vouchers(portal, signed_in):
    build()  # D (3,000.00), A (600.00 left) and B (800.00 left) are past their deadlines; E is stopped
    page = dom(signed_in("finance@example.com").get("/finance?lang=en"))
    open_orders = in_app(lambda: db.session.scalar(sa.select(sa.func.count(PaymentOrder.id)).where(
        PaymentOrder.payment_deadline < datetime.now(UTC),
        PaymentOrder.payment_status.not_in(("PAID", "STOPPED")))))()
    assert page.one("desk-overdue-orders").text == str(open_orders) and open_orders >= 3
    assert page.one("desk-open-vouchers").text == "0"


@pytest.mark.parametrize("who", ["finance@example.com", "admin@example.com"])
def test_finance_and_admin_open_it(portal, signed_in, who):
    assert signed_in(who).get("/finance").status_code == 200


@pytest.mark.parametrize("who", ["operator@r1001.example", "approver@r1001.example"])
def test_resellers_are_refused(portal, signed_in, who):
    assert signed_in(who).get("/finance").status_code == 403


def test_anonymous_is_sent_to_sign_in(app, portal):
    answer = app.test_client().get("/finance")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


@pytest.mark.parametrize(("day", "message"), [
    ("2026-02-30", "Enter a date like"), ("yesterday", "Enter a date like"), ("2026-3-1", "Enter a date like"),
    ("9999-12-31", "has not come yet"), ("2026-03-01T00:00", "Enter a date like"),
    ("\u0662\u0660\u0662\u0666-01-01", "Enter a date like"),
])
def test_a_bad_day_is_a_clear_error(portal, signed_in, day, message):
    answer = signed_in("finance@example.com").get("/finance", query_string={"day": day, "lang": "en"})
    assert answer.status_code == 422
    assert message in dom(answer).one("desk-day-error").text


def test_a_bad_day_in_chinese(portal, signed_in):
    answer = signed_in("finance@example.com").get("/finance?day=2026-02-30&lang=zh")
    assert answer.status_code == 422 and "2026-11-30" in dom(answer).one("desk-day-error").text


@in_app
def _open_receipts() -> None:
    """Two unidentified (OPEN) bank receipts and a MATCHED one, which is not counted."""
    for n, (amount, state, reason) in enumerate((("120.50", "OPEN", "NO_REFERENCE"), ("0.25", "OPEN", "SHORTFALL"),
                                                 ("999.00", "MATCHED", None))):
        db.session.add(BankReceipt(our_account="6222020200112233445", bank_reference=f"BR-{n}",
                                   value_date=date(2026, 3, 12), amount=Decimal(amount), currency="CNY",
                                   memo="payment", state=state, reason=reason, received_by="tests"))
    db.session.commit()


def test_reconciliation_figures_link_to_reconciliation(portal, signed_in):
    screen_setup.add_channel("WALLET", "WALLET")
    screen_setup.recon_exception()
    resolved = screen_setup.recon_exception(reference="CPX-OTHER", day=date(2026, 3, 13))
    _resolve(resolved)
    _open_receipts()
    d = dom(signed_in("finance@example.com").get("/finance?lang=en"))
    for testid, count in (("desk-open-exceptions", "1"), ("desk-open-receipts", "2")):
        assert (d.one(testid).text, d.one(testid)["href"]) == (count, "/finance/reconciliation")
    assert d.one("desk-open-receipts-amount")["data-amount"] == "120.75"
    assert "¥120.75" in d.one("desk-open-receipts-amount").text
    # An admin sees the figures, without the link to a screen that is finance's only.
    admin = dom(signed_in("admin@example.com").get("/finance"))
    assert admin.one("desk-open-exceptions").tag == "span" and admin.one("desk-open-receipts").text == "2"
    zh = signed_in("finance@example.com").get("/finance?lang=zh").get_data(as_text=True)
    assert "未处理的对账差异" in zh and "未识别来款" in zh


@in_app
def _resolve(exception_id: int) -> None:
    e = db.session.get_one(ReconciliationException, exception_id)
    e.state, e.resolved_by, e.resolution_note = "RESOLVED", "tests", "checked"
    db.session.commit()
