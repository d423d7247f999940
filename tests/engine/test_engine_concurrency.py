"""Concurrent checkouts and wallet payments (both databases; row locks matter on PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import sqlalchemy as sa

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Reseller
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.ledgers import wallet
from tests.support.engine import OPERATOR, check_invariants, check_stored_figures, make_order, order

N = 20


def _race(app, reseller_id, allocations_per_thread):
    barrier = threading.Barrier(len(allocations_per_thread))

    def one(rows):
        with app.app_context():
            barrier.wait()
            try:
                return checkout.submit(OPERATOR, None, reseller_id, rows).status
            except DomainError as exc:
                return type(exc).__name__
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(allocations_per_thread)) as pool:
        return list(pool.map(one, allocations_per_thread))


def test_concurrent_checkouts_never_over_reserve(app, engine_setup):
    pid = make_order(amount="1000.00")
    db.session.remove()
    results = _race(app, engine_setup["R1001"], [[AllocationIn(pid, "100.00", "WIRE_ICBC")]] * N)
    assert results.count("PROCESSING") == 10, results
    assert all(r in ("PROCESSING", "CheckoutRejected") for r in results)
    o = order(pid)
    assert o.reserved_amount == Decimal("1000.00") and o.payable_amount == 0
    check_invariants()
    check_stored_figures()


def test_concurrent_checkouts_over_two_orders_in_either_order(app, engine_setup):
    a, b = make_order(amount="500.00"), make_order(amount="500.00")
    db.session.remove()
    rows = [[AllocationIn(a, "100.00", "WIRE_ICBC"), AllocationIn(b, "100.00", "WIRE_ICBC")],
            [AllocationIn(b, "100.00", "WIRE_ICBC"), AllocationIn(a, "100.00", "WIRE_ICBC")]] * (N // 2)
    results = _race(app, engine_setup["R1001"], rows)
    assert results.count("PROCESSING") == 5, results
    assert order(a).reserved_amount == order(b).reserved_amount == Decimal("500.00")
    check_invariants()
    check_stored_figures()


def test_concurrent_wallet_payments_never_overdraw(app, engine_setup):
    # Wallet holds 500,000.00; 20 payments of 40,000.00 on separate orders: exactly 12 fit.
    pids = [make_order(amount="40000.00") for _ in range(N)]
    db.session.remove()
    results = _race(app, engine_setup["R1001"], [[AllocationIn(p, "40000.00", "WALLET")] for p in pids])
    assert results.count("SUCCEEDED") == 12, results
    assert all(r in ("SUCCEEDED", "CheckoutRejected") for r in results)
    assert wallet.balance(engine_setup["R1001"]) == Decimal("20000.00")
    check_invariants()
    check_stored_figures()


def test_concurrent_credit_payments_never_exceed_the_limit(app, engine_setup):
    pids = [make_order(amount="150000.00") for _ in range(N)]
    db.session.remove()
    results = _race(app, engine_setup["R1001"], [[AllocationIn(p, "150000.00", "CREDIT")] for p in pids])
    assert results.count("SUCCEEDED") == 6, results
    r = db.session.scalar(sa.select(Reseller).where(Reseller.code == "R1001"))
    assert r.credit_used == Decimal("900000.00") <= r.credit_limit
    check_invariants()
    check_stored_figures()
