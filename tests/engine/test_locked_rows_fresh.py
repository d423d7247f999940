"""A row locked FOR UPDATE is read afresh even when the session loaded it earlier in the transaction.

The signed-in user is loaded with its reseller joined (``User.reseller``, lazy="joined") before the
checkout's transaction locks that reseller; a wallet credit committed in between must survive the
payment's debit. Found by bench/load_mix.py: under load a refund's wallet credit was lost (balance
10.00 below the sum of the entries) when a WALLET checkout of the same reseller overlapped it."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import User
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.ledgers import wallet
from app.services.platform.unit_of_work import transaction
from tests.support import invariants
from tests.support.engine import FINANCE, OPERATOR, make_order


@pytest.mark.postgres_only
def test_a_wallet_payment_keeps_a_credit_committed_after_the_reseller_was_read(app, engine_setup, is_postgres):
    if not is_postgres:
        pytest.skip("on SQLite every transaction holds the write lock: the deposit could not commit in between")
    rid, uid = engine_setup["R1001"], engine_setup["users"]["op1"]
    pid = make_order(amount="100.00")
    user = db.session.get(User, uid)  # held, as Flask-Login's current_user is for the whole request
    assert user.reseller.wallet_balance == Decimal("500000.00")  # read, not locked

    def deposit() -> None:
        with app.app_context(), transaction():
            wallet.top_up(FINANCE, rid, Decimal("10.00"), "a deposit meanwhile")

    t = threading.Thread(target=deposit)
    t.start()
    t.join()
    checkout.submit(OPERATOR, user.id, rid, [AllocationIn(pid, "100.00", "WALLET")])
    assert wallet.balance(rid) == Decimal("499910.00")
    assert invariants.violations() == []
