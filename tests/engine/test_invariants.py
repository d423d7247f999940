"""The invariant checker (tests/support/invariants.py) has teeth: a clean wallet payment passes,
and each way of doubling or bending a money effect behind the engine's back is named."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from tests.support import invariants
from tests.support.engine import OPERATOR, make_order

# name: (SQL run after a WALLET payment of 400.00 on an order of 1000.00, a fragment of the violation)
CORRUPTIONS = {
    "order paid twice": (
        "UPDATE payment_orders SET paid_amount = paid_amount * 2", "paidAmount 800.00 != Σ SUCCESS payments 400.00"),
    "wallet debited twice": (
        "INSERT INTO wallet_entries (reseller_id, entry_type, amount, balance_after, reference, memo, actor,"
        " created_at)"
        " SELECT reseller_id, entry_type, amount, balance_after + amount, reference, memo, actor, created_at"
        " FROM wallet_entries WHERE entry_type = 'PAYMENT';"
        " UPDATE resellers SET wallet_balance = wallet_balance - 400 WHERE code = 'R1001'",
        "SUCCESS with wallet debits"),
    "allocation settled twice": (
        "INSERT INTO transactions (transaction_id, payment_order_id, order_id, reseller_id, transaction_type, status,"
        " amount, refunded_amount, refunding_amount, channel_id, channel_code, channel_kind, channel_payment_id,"
        " merged_payment_id, created_at)"
        " SELECT substr(transaction_id, 1, 30) || 'X', payment_order_id, order_id, reseller_id, transaction_type,"
        " status, amount, refunded_amount, refunding_amount, channel_id, channel_code, channel_kind,"
        " channel_payment_id, merged_payment_id, created_at FROM transactions;"
        " UPDATE payment_orders SET paid_amount = paid_amount * 2",
        "!= Σ its allocations 800.00"),
    "wallet balance off by a cent": (
        "UPDATE resellers SET wallet_balance = wallet_balance + 0.01 WHERE code = 'R1001'", "wallet balance"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_a_doubled_or_bent_money_effect_is_named(engine_setup, name):
    pid = make_order(amount="1000.00")
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, "400.00", "WALLET")])
    assert invariants.violations() == []
    sql, fragment = CORRUPTIONS[name]
    for statement in sql.split(";"):
        db.session.execute(sa.text(statement))
    db.session.commit()
    found = invariants.violations()
    assert any(fragment in line for line in found), found
