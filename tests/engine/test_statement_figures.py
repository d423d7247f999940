"""The monthly statement's figures (app/services/statements): exact amounts for a known history
(tests/support/statement_world.py), the owed identity, aging buckets, the running balance of the
lines, and that a reseller's statement reads only its own rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.domain.errors import ValidationFailed
from app.domain.timeutil import SHANGHAI
from app.services.statements import aging as aging_rules
from app.services.statements.figures import statement_figures
from app.services.statements.lines import statement_lines
from app.services.statements.period import Month
from tests.support.engine import check_invariants, make_order
from tests.support.statement_world import EXPECTED, MARCH, build_march, ensure_world, shanghai


@pytest.fixture
def march(ctx):
    ids = build_march()
    return ensure_world()["R1001"], ids


def _groups(groups):
    return [(g.key, g.kind, g.count, g.amount) for g in groups]


def test_march_figures_are_exact(march):
    rid, _ = march
    f = statement_figures(rid, MARCH)
    assert f.company.code == "R1001"
    assert f.start == shanghai(2026, 3, 1).astimezone(UTC) and f.end == shanghai(2026, 4, 1).astimezone(UTC)
    owed = f.owed
    assert {k: getattr(owed, k) for k in EXPECTED["owed"]} == EXPECTED["owed"]
    assert owed.closing == owed.opening + owed.created - owed.paid - owed.stopped
    assert [(g.key, g.count, g.amount) for g in f.orders] == EXPECTED["orders"]
    assert _groups(f.payments) == EXPECTED["payments"]
    assert _groups(f.refunds) == EXPECTED["refunds"]
    assert f.payments_total == Decimal("1200.00") == owed.paid and f.refunds_total == Decimal("100.00")
    assert [(b.label, b.count, b.amount) for b in f.aging.buckets] == EXPECTED["aging"]
    # Every unpaid order of R1001 is past its deadline at the end of March: aging covers all of the owed.
    assert f.aging.total == owed.closing
    assert {k: getattr(f.wallet, k) for k in EXPECTED["wallet"]} == EXPECTED["wallet"]
    assert f.wallet.closing == f.wallet.opening + f.wallet.money_in - f.wallet.money_out
    assert f.credit.limit == Decimal("1000000.00")
    assert {k: getattr(f.credit.used, k) for k in EXPECTED["credit_used"]} == EXPECTED["credit_used"]
    assert f.line_count == len(EXPECTED["lines"])
    check_invariants()


def test_lines_run_from_opening_to_closing(march):
    rid, ids = march
    f = statement_figures(rid, MARCH)
    start, end = MARCH.bounds()
    lines = list(statement_lines(rid, start, end, f.owed.opening))
    assert [(x.kind, x.owed_change, x.refunded, x.balance) for x in lines] == EXPECTED["lines"]
    assert lines[-1].balance == f.owed.closing
    assert [x.payment_id for x in lines] == [ids["B"]] * 4 + [ids["E"]] * 2
    assert all(start <= x.at < end for x in lines) and lines == sorted(lines, key=lambda x: x.at)


def test_months_chain_and_the_month_after_counts_what_came_later(march):
    rid, _ = march
    feb, march_f, april = (statement_figures(rid, m) for m in (Month(2026, 2), MARCH, Month(2026, 4)))
    assert feb.owed.closing == march_f.owed.opening and march_f.owed.closing == april.owed.opening
    assert feb.owed.created == Decimal("1000.00") and feb.owed.paid == Decimal("400.00")
    assert (april.owed.created, april.owed.paid, april.owed.closing) == (
        Decimal("999.00"), Decimal("100.00"), Decimal("5299.00"))
    assert feb.wallet.closing == march_f.wallet.opening and march_f.wallet.closing == april.wallet.opening


def test_another_company_sees_none_of_it(march):
    f = statement_figures(ensure_world()["R1002"], MARCH)
    assert f.company.code == "R1002"
    assert (f.owed.opening, f.owed.closing, f.orders, f.payments, f.refunds, f.line_count) == (
        Decimal("0.00"), Decimal("0.00"), [], [], [], 0)
    assert f.aging.total == Decimal("0.00") and f.wallet.entries == 0


def test_the_month_in_progress_ages_at_now(ctx):
    rid = ensure_world()["R1001"]
    make_order(amount="250.00", deadline=datetime.now(UTC) - timedelta(days=45))
    now = datetime.now(UTC)
    f = statement_figures(rid, Month.containing(now.astimezone(SHANGHAI).date()), now=now)
    assert f.as_of == now
    assert [(b.label, b.amount) for b in f.aging.buckets if b.count] == [("31-60", Decimal("250.00"))]


@pytest.mark.parametrize("days, label", [(0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
                                         (90, "61-90"), (91, ">90"), (4000, ">90")])
def test_bucket_edges(days, label):
    assert aging_rules.bucket_label(days) == label


def test_days_past_are_whole_days():
    deadline = datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert aging_rules.days_past(deadline + timedelta(days=30, hours=23, minutes=59), deadline) == 30
    assert aging_rules.days_past(deadline + timedelta(days=31), deadline) == 31
    with pytest.raises(ValueError):
        aging_rules.bucket_label(-1)


@pytest.mark.parametrize("text", ["2026-13", "2026-3", "26-03", "", "1999-12", "2026-03-01"])
def test_month_parse_refuses_what_is_not_a_month(text):
    with pytest.raises(ValidationFailed):
        Month.parse(text)


def test_month_bounds_are_shanghai_midnights():
    start, end = Month.parse("2026-12").bounds()
    assert start == datetime(2026, 11, 30, 16, tzinfo=UTC) and end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert Month(2026, 1).previous() == Month(2025, 12) and Month(2026, 12).last_day.day == 31
