"""The finance desk's day rows (``money_flow_days``), kept up to date by settlement itself: concurrent
settlements touching the same rows (and several rows in either order) lose no update and equal a
recomputation from the transactions; a rolled-back settlement adds nothing; ``flask finance
check-flows`` finds a difference and repairs it. Both databases (the row locks matter on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.domain.enums import TransactionStatus
from app.domain.timeutil import shanghai_today, utcnow
from app.extensions import db
from app.models import MoneyFlowDay, OpenOrderDay, PaymentOrder, PaymentTransaction
from app.services.checkout.validation import AllocationIn
from app.services.dashboards import overdue
from app.services.ledgers import money_flows
from app.services.platform.unit_of_work import transaction
from tests.engine.test_engine_concurrency import _race
from tests.support.engine import check_invariants, check_stored_figures, make_order


def _today_rows() -> dict[tuple[str, str], tuple[int, Decimal]]:
    return {(k[1], k[2]): (r.payments, r.received)
            for k, r in money_flows.stored(shanghai_today(), shanghai_today()).items()}


def test_concurrent_settlements_lose_no_update(app, engine_setup):
    # 12 wallet payments of single orders (two payment types: two hot rows) and 8 merged payments over an
    # ADVANCE and a FINAL order, half of them listing the FINAL one first: every settlement adds to
    # rows another one is adding to at the same moment.
    # Every order has a deadline in the next days: each payment also moves it out of open_order_days.
    due = [utcnow() + timedelta(days=1 + i % 3) for i in range(40)]
    singles = [make_order(amount="1000.00", payment_type=t, deadline=due[i])
               for i, t in enumerate(("ADVANCE_PAYMENT", "FINAL_PAYMENT") * 6)]
    pairs = [(make_order(amount="300.00", deadline=due[i]),
              make_order(amount="200.00", payment_type="FINAL_PAYMENT", deadline=due[i + 1])) for i in range(8)]
    db.session.remove()
    rows = [[AllocationIn(p, "1000.00", "WALLET")] for p in singles]
    rows += [[AllocationIn(a, "300.00", "WALLET"), AllocationIn(b, "200.00", "WALLET")][::1 if i % 2 else -1]
             for i, (a, b) in enumerate(pairs)]
    results = _race(app, engine_setup["R1001"], rows)
    assert results == ["SUCCEEDED"] * 20, results
    assert _today_rows() == {("WALLET", "ADVANCE_PAYMENT"): (14, Decimal("8400.00")),
                             ("WALLET", "FINAL_PAYMENT"): (14, Decimal("7600.00"))}
    check_invariants()
    check_stored_figures()
    assert db.session.scalar(sa.select(sa.func.sum(OpenOrderDay.orders))) == 0  # every order paid


def _set_deadline(pid: str, when: datetime) -> None:
    with transaction():
        db.session.execute(sa.update(PaymentOrder).where(PaymentOrder.payment_id == pid)
                           .values(payment_deadline=when))


def test_overdue_from_the_deadline_days_equals_counting_every_order(app, engine_setup):
    now = utcnow()
    midnight = datetime.combine(now.date(), time(0), UTC)
    pids = [make_order(amount=f"{100 * (i + 1)}.00", deadline=now + timedelta(days=5)) for i in range(7)]
    # Deadlines moved (the trigger on UPDATE): last week, yesterday (twice), today before now, today after
    # now; two keep theirs in five days. Then one paid, one partly paid, one stopped.
    for pid, when in zip(pids, (now - timedelta(days=7), now - timedelta(days=1), now - timedelta(days=1),
                                midnight + (now - midnight) / 2, now + timedelta(minutes=5)), strict=False):
        _set_deadline(pid, when)
    db.session.remove()
    assert _race(app, engine_setup["R1001"], [[AllocationIn(pids[0], "100.00", "WALLET")],
                                              [AllocationIn(pids[1], "50.00", "WALLET")]]) == ["SUCCEEDED"] * 2
    with transaction():
        db.session.execute(sa.update(PaymentOrder).where(PaymentOrder.payment_id == pids[2])
                           .values(payment_status="STOPPED"))
    for at in (now, now + timedelta(minutes=10), now + timedelta(days=6), midnight - timedelta(days=3)):
        assert overdue.overdue(at) == overdue.live(None, at), at
    count, owed = overdue.overdue(now)
    assert (count, owed) == (2, Decimal("150.00") + Decimal("400.00"))  # 200.00 less 50.00 paid; 400.00 today
    assert overdue.overdue(now + timedelta(days=6))[0] == 5  # all but the paid and the stopped one
    check_invariants()
    check_stored_figures()


def test_a_rolled_back_settlement_adds_nothing(app, engine_setup):
    pid = make_order(amount="1000.00")
    db.session.remove()
    assert _race(app, engine_setup["R1001"], [[AllocationIn(pid, "1000.00", "WALLET")]]) == ["SUCCEEDED"]
    before = _today_rows()
    paid = db.session.scalars(sa.select(PaymentTransaction).where(
        PaymentTransaction.status == TransactionStatus.SUCCESS)).one()
    try:
        with transaction():
            money_flows.record(paid, "ADVANCE_PAYMENT")  # counted again, then the transaction fails
            raise RuntimeError("the settlement failed after counting")
    except RuntimeError:
        pass
    with transaction():
        pass  # a later commit of the same session adds nothing left over
    assert _today_rows() == before == {("WALLET", "ADVANCE_PAYMENT"): (1, Decimal("1000.00"))}
    check_invariants()
    check_stored_figures()


def test_check_flows_finds_and_repairs_a_difference(app, engine_setup):
    pid = make_order(amount="1000.00")
    db.session.remove()
    assert _race(app, engine_setup["R1001"], [[AllocationIn(pid, "1000.00", "WALLET")]]) == ["SUCCEEDED"]
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["finance", "check-flows"])
    assert ok.exit_code == 0 and "agrees" in ok.output
    with transaction():
        db.session.execute(sa.update(MoneyFlowDay).values(received=MoneyFlowDay.received + 1))
    bad = runner.invoke(args=["finance", "check-flows"])
    assert bad.exit_code == 1 and "money_flow_days " in bad.output and "WALLET ADVANCE_PAYMENT: stored" in bad.output
    fixed = runner.invoke(args=["finance", "check-flows", "--repair"])
    assert fixed.exit_code == 0 and "rebuilt: 1 rows, 0 open-order rows" in fixed.output
    assert money_flows.differences() == []
    assert _today_rows() == {("WALLET", "ADVANCE_PAYMENT"): (1, Decimal("1000.00"))}
