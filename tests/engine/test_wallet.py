"""The wallet ledger's own rules (app/services/ledgers/wallet.py), called directly: a running balance
that never goes below 0 (to the cent), signed entries with their balance after, and finance's top-ups
and adjustments. Written for the mutants of bench/mutation.py that the end-to-end tests let through."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.errors import ValidationFailed
from app.extensions import db
from app.models import AuditEntry, OutboxEvent, Reseller, WalletEntry
from app.services.ledgers import wallet
from app.services.ledgers.wallet import InsufficientBalance
from app.services.ledgers.wallet_memos import WalletMemo
from app.services.platform.unit_of_work import transaction
from tests.support.engine import FINANCE


def _entries(reseller_id: int) -> list[tuple]:
    return [(e.entry_type, e.amount, e.balance_after, e.reference, e.actor) for e in db.session.scalars(
        sa.select(WalletEntry).where(WalletEntry.reseller_id == reseller_id).order_by(WalletEntry.id))]


def test_credits_and_debits_keep_a_running_balance(engine_setup):
    r2 = engine_setup["R1002"]
    wallet.post(r2, Decimal("100.00"), "TOPUP", reference=None, actor="fin")
    wallet.post(r2, Decimal("-30.25"), "PAYMENT", reference="MP-1", actor="op")
    wallet.post(r2, Decimal("-69.75"), "PAYMENT", reference="MP-2", actor="op")  # down to exactly 0.00
    assert wallet.balance(r2) == Decimal("0.00")
    assert _entries(r2) == [("TOPUP", Decimal("100.00"), Decimal("100.00"), None, "fin"),
                            ("PAYMENT", Decimal("-30.25"), Decimal("69.75"), "MP-1", "op"),
                            ("PAYMENT", Decimal("-69.75"), Decimal("0.00"), "MP-2", "op")]


def test_a_debit_one_cent_above_the_balance_changes_nothing(engine_setup):
    r2 = engine_setup["R1002"]
    wallet.post(r2, Decimal("50.00"), "TOPUP", reference=None, actor="fin")
    with pytest.raises(InsufficientBalance, match=r"wallet balance 50\.00 is less than 50\.01"):
        wallet.post(r2, Decimal("-50.01"), "PAYMENT", reference="MP-1", actor="op")
    assert wallet.balance(r2) == Decimal("50.00") and len(_entries(r2)) == 1


def test_a_zero_entry_is_refused(engine_setup):
    with pytest.raises(ValidationFailed, match="non-zero amount"):
        wallet.post(engine_setup["R1002"], Decimal("0.00"), "ADJUST", reference=None, actor="fin")
    assert _entries(engine_setup["R1002"]) == []


def test_an_unknown_reseller_is_refused(engine_setup):
    with pytest.raises(ValidationFailed, match="reseller does not exist"):
        wallet.post(999999, Decimal("1.00"), "TOPUP", reference=None, actor="fin")


def test_memos_coded_and_free(engine_setup):
    r2 = engine_setup["R1002"]
    coded = wallet.post(r2, Decimal("5.00"), "EXCESS", reference="CP-1", actor="system",
                        memo=WalletMemo.excess_of_wire("W123"))
    assert (coded.memo, coded.memo_code, coded.memo_params) == ("excess of wire W123", "EXCESS_OF_WIRE",
                                                                {"reference": "W123"})
    free = wallet.post(r2, Decimal("5.00"), "TOPUP", reference=None, actor="fin", memo="x" * 600)
    assert (free.memo, free.memo_code, free.memo_params) == ("x" * 500, None, None)  # cut to the column


def test_a_top_up_is_recorded_audited_and_announced(engine_setup):
    r2 = engine_setup["R1002"]
    with transaction():  # the caller commits; the audit entry is written as it does
        entry = wallet.top_up(FINANCE, r2, Decimal("1200.50"), "bank slip 42")
    assert (entry.entry_type, entry.amount, entry.balance_after, entry.actor) == (
        "TOPUP", Decimal("1200.50"), Decimal("1200.50"), FINANCE.label)
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "wallet.topup")).one()
    assert (audit.target_type, audit.target_id) == ("reseller_wallet", str(r2))
    assert audit.after == {"amount": "1200.50", "balanceAfter": "1200.50", "memo": "bank slip 42"}
    event = db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == "wallet.changed")).one()
    assert event.payload == {"amount": "1200.50", "balance": "1200.50", "type": "TOPUP"}


@pytest.mark.parametrize("amount", ["0.00", "-0.01"])
def test_a_top_up_must_be_positive(engine_setup, amount):
    with pytest.raises(ValidationFailed, match="must be positive"):
        wallet.top_up(FINANCE, engine_setup["R1002"], Decimal(amount), "slip")
    assert _entries(engine_setup["R1002"]) == []


def test_a_top_up_of_one_cent_is_taken(engine_setup):
    assert wallet.top_up(FINANCE, engine_setup["R1002"], Decimal("0.01"), "slip").balance_after == Decimal("0.01")


def test_an_adjustment_may_take_money_back_but_not_below_zero(engine_setup):
    r2 = engine_setup["R1002"]
    wallet.top_up(FINANCE, r2, Decimal("100.00"), "slip")
    entry = wallet.top_up(FINANCE, r2, Decimal("-40.00"), "booked twice", entry_type="ADJUST")
    assert (entry.entry_type, entry.balance_after) == ("ADJUST", Decimal("60.00"))
    with pytest.raises(InsufficientBalance):
        wallet.top_up(FINANCE, r2, Decimal("-60.01"), "too much", entry_type="ADJUST")
    assert db.session.get(Reseller, r2).wallet_balance == Decimal("60.00")


@pytest.mark.parametrize("memo", ["", "   "])
def test_a_top_up_needs_a_reason(engine_setup, memo):
    with pytest.raises(ValidationFailed, match="give a reason"):
        wallet.top_up(FINANCE, engine_setup["R1002"], Decimal("10.00"), memo)
    assert _entries(engine_setup["R1002"]) == []
