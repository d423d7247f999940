"""The finance desk's day rows (``money_flow_days``), kept up to date by settlement itself: concurrent
settlements touching the same rows (and several rows in either order) lose no update and equal a
recomputation from the transactions; a rolled-back settlement adds nothing; ``flask finance
check-flows`` finds a difference and repairs it. Both databases (the row locks matter on PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.domain.enums import TransactionStatus
from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import MoneyFlowDay, PaymentTransaction
from app.services.checkout.validation import AllocationIn
from app.services.dashboards import money_flows
from app.services.platform.unit_of_work import transaction
from tests.engine.test_engine_concurrency import _race
from tests.support.engine import check_invariants, make_order


def _today_rows() -> dict[tuple[str, str], tuple[int, Decimal]]:
    return {(k[1], k[2]): (r.payments, r.received)
            for k, r in money_flows.stored(shanghai_today(), shanghai_today()).items()}


def test_concurrent_settlements_lose_no_update(app, engine_setup):
    # 12 wallet payments of single orders (two payment types: two hot rows) and 8 merged payments over an
    # ADVANCE and a FINAL order, half of them listing the FINAL one first: every settlement adds to
    # rows another one is adding to at the same moment.
    singles = [make_order(amount="1000.00", payment_type=t) for t in ("ADVANCE_PAYMENT", "FINAL_PAYMENT") * 6]
    pairs = [(make_order(amount="300.00"), make_order(amount="200.00", payment_type="FINAL_PAYMENT"))
             for _ in range(8)]
    db.session.remove()
    rows = [[AllocationIn(p, "1000.00", "WALLET")] for p in singles]
    rows += [[AllocationIn(a, "300.00", "WALLET"), AllocationIn(b, "200.00", "WALLET")][::1 if i % 2 else -1]
             for i, (a, b) in enumerate(pairs)]
    results = _race(app, engine_setup["R1001"], rows)
    assert results == ["SUCCEEDED"] * 20, results
    assert _today_rows() == {("WALLET", "ADVANCE_PAYMENT"): (14, Decimal("8400.00")),
                             ("WALLET", "FINAL_PAYMENT"): (14, Decimal("7600.00"))}
    check_invariants()  # money_flows.differences() == [] among them


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
    assert bad.exit_code == 1 and "WALLET ADVANCE_PAYMENT: stored" in bad.output
    fixed = runner.invoke(args=["finance", "check-flows", "--repair"])
    assert fixed.exit_code == 0 and "rebuilt: 1 rows" in fixed.output
    assert money_flows.differences() == []
    assert _today_rows() == {("WALLET", "ADVANCE_PAYMENT"): (1, Decimal("1000.00"))}
