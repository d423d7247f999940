"""A day's received / refunded / net by channel and payment type (app/services/reports/daily.py), on
the March history of tests/support/statement_world.py: a transaction counts on the Shanghai day it
became final."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.services.reports.daily import daily_report
from app.services.statements.figures import statement_figures
from tests.support.statement_world import MARCH, build_march, ensure_world

D = Decimal


def _rows(rows):
    return [(r.key, r.kind, r.received, r.received_count, r.refunded, r.refunded_count, r.net) for r in rows]


def test_a_day_of_payments_by_channel_and_type(ctx):
    build_march()
    r = daily_report(date(2026, 3, 12))
    assert _rows(r.by_channel) == [("CREDIT", "CREDIT", D("700.00"), 1, D("0.00"), 0, D("700.00")),
                                   ("WALLET", "WALLET", D("500.00"), 1, D("0.00"), 0, D("500.00"))]
    assert _rows(r.by_type) == [("FINAL_PAYMENT", "FINAL_PAYMENT", D("1200.00"), 2, D("0.00"), 0, D("1200.00"))]
    assert (r.received, r.refunded, r.net, r.received_count, r.refunded_count) == (
        D("1200.00"), D("0.00"), D("1200.00"), 2, 0)


def test_a_day_of_refunds_nets_negative(ctx):
    build_march()
    r = daily_report(date(2026, 3, 20))
    assert _rows(r.by_channel) == [("WALLET", "WALLET", D("0.00"), 0, D("100.00"), 1, D("-100.00"))]
    assert _rows(r.by_type) == [("FINAL_PAYMENT", "FINAL_PAYMENT", D("0.00"), 0, D("100.00"), 1, D("-100.00"))]
    assert r.net == D("-100.00")


def test_days_add_up_to_the_statement_and_quiet_days_are_empty(ctx):
    build_march()
    month = statement_figures(ensure_world()["R1001"], MARCH)
    days = [daily_report(date(2026, 3, d)) for d in range(1, 32)]
    assert sum((d.received for d in days), D("0.00")) == month.payments_total
    assert sum((d.refunded for d in days), D("0.00")) == month.refunds_total
    quiet = daily_report(date(2026, 3, 13))
    assert (quiet.by_channel, quiet.by_type, quiet.net) == ([], [], D("0.00"))
