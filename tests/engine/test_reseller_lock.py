"""Concurrent money movements of one reseller do not deadlock on its row (PostgreSQL's row locks).

A WALLET refund inserts rows that reference the reseller (the foreign key takes a KEY SHARE lock on
the reseller's row) before it credits the wallet, which locks that row to change its balance. Were
that lock ``FOR UPDATE``, two refunds of one reseller would each wait for the other's KEY SHARE: a
deadlock. ``FOR NO KEY UPDATE`` (the balance is not a key) does not conflict with KEY SHARE."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from app.extensions import db
from app.services.ledgers import wallet
from app.services.refunds.creation import create_refund
from app.services.refunds.instruction import RefundInstruction
from tests.support.engine import check_invariants, check_stored_figures, make_order
from tests.support.refunds import ORDER_SYSTEM, pay

N = 8


def test_concurrent_wallet_refunds_of_one_reseller_all_succeed(app, engine_setup):
    pids = [make_order(amount="100.00") for _ in range(N)]
    for pid in pids:
        pay(engine_setup, pid, ("100.00", "WALLET"))
    before = wallet.balance(engine_setup["R1001"])
    db.session.remove()
    barrier = threading.Barrier(N)

    def one(i_pid):
        i, pid = i_pid
        with app.app_context():
            barrier.wait()
            try:
                r, code, _ = create_refund(ORDER_SYSTEM, RefundInstruction(
                    refund_order_id=f"RLOCK-{i}", payment_id=pid, amount=Decimal("40.00")))
                return r.status
            except Exception as exc:  # a deadlock surfaces as an OperationalError
                return f"{type(exc).__name__}: {exc}"[:200]
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=N) as pool:
        results = list(pool.map(one, enumerate(pids)))
    assert results == ["SUCCESS"] * N, results
    assert wallet.balance(engine_setup["R1001"]) == before + Decimal("40.00") * N
    check_invariants()
    check_stored_figures()
