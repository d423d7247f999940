"""Finance's top-ups and adjustments (app/services/ledgers/wallet_changes.py): applied at once up to the
reseller's approval threshold, else waiting for a second finance user; never below 0; a bank serial once
per reseller; and under concurrency (row locks matter on PostgreSQL): two approvals of one pending
top-up apply it once, and top-ups racing wallet payments leave the right balance."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.errors import DomainError, StateConflict, ValidationFailed
from app.extensions import db
from app.models import AuditEntry, OutboxEvent, Reseller, WalletChange, WalletEntry
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.ledgers import wallet, wallet_changes
from app.services.ledgers.wallet import InsufficientBalance
from app.services.platform.actor import Actor
from tests.support.concurrency import race
from tests.support.engine import OPERATOR, check_invariants, make_order
from tests.support.factories import add_user

FIN1 = Actor(type="user", id="fin1")
FIN2 = Actor(type="user", id="fin2")


@pytest.fixture
def desk(engine_setup):
    """engine_setup plus two finance users; R1002's threshold 1,000.00, its wallet empty."""
    f1 = engine_setup["users"]["fin"]
    f2 = add_user("fin2@example.com", "finance")
    db.session.get_one(Reseller, engine_setup["R1002"]).approval_threshold = Decimal("1000.00")
    db.session.commit()
    return {**engine_setup, "f1": f1, "f2": f2}


def _counts(rid: int) -> tuple:
    return (wallet.balance(rid),
            db.session.scalar(sa.select(sa.func.count(WalletEntry.id)).where(WalletEntry.reseller_id == rid)),
            db.session.scalar(sa.select(sa.func.count(WalletChange.id))),
            db.session.scalar(sa.select(sa.func.count(AuditEntry.id))))


def test_a_top_up_up_to_the_threshold_is_booked_at_once_audited_and_announced(desk):
    r2 = desk["R1002"]
    change = wallet_changes.request_change(FIN1, desk["f1"], r2, "TOPUP", Decimal("1000.00"), "March", "SN-1")
    assert change.status == "APPROVED" and wallet.balance(r2) == Decimal("1000.00")
    entry = db.session.get_one(WalletEntry, change.entry_id)
    assert (entry.entry_type, entry.amount, entry.reference, entry.memo_code, entry.memo_params) == (
        "TOPUP", Decimal("1000.00"), "SN-1", "TOPUP", {"serial": "SN-1", "note": "March"})
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["wallet.change_requested", "wallet.topup"]
    event = db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    assert event.event_type == "wallet.changed" and event.payload["balance"] == "1000.00"


def test_above_the_threshold_it_waits_and_only_a_second_user_applies_it_once(desk):
    r2 = desk["R1002"]
    change = wallet_changes.request_change(FIN1, desk["f1"], r2, "TOPUP", Decimal("1000.01"), "", "SN-2")
    assert change.status == "PENDING" and wallet.balance(r2) == Decimal("0.00")
    before = _counts(r2)
    with pytest.raises(wallet_changes.SameUser):
        wallet_changes.approve(FIN1, desk["f1"], change.id)
    with pytest.raises(wallet_changes.SameUser):
        wallet_changes.reject(FIN1, desk["f1"], change.id, "no")
    assert _counts(r2) == before
    wallet_changes.approve(FIN2, desk["f2"], change.id)
    assert wallet.balance(r2) == Decimal("1000.01")
    with pytest.raises(StateConflict):
        wallet_changes.approve(FIN2, desk["f2"], change.id)
    assert wallet.balance(r2) == Decimal("1000.01")
    stored = db.session.get_one(WalletChange, change.id)
    assert (stored.status, stored.decided_by_user_id) == ("APPROVED", desk["f2"])


def test_a_rejected_change_moves_nothing_and_frees_its_serial(desk):
    r2 = desk["R1002"]
    change = wallet_changes.request_change(FIN1, desk["f1"], r2, "TOPUP", Decimal("5000.00"), "", "SN-3")
    with pytest.raises(ValidationFailed):
        wallet_changes.reject(FIN2, desk["f2"], change.id, "  ")
    wallet_changes.reject(FIN2, desk["f2"], change.id, "amount typed wrong")
    assert wallet.balance(r2) == Decimal("0.00")
    again = wallet_changes.request_change(FIN1, desk["f1"], r2, "TOPUP", Decimal("500.00"), "", "SN-3")
    assert again.status == "APPROVED" and wallet.balance(r2) == Decimal("500.00")


def test_a_bank_serial_tops_up_a_reseller_once(desk):
    r2 = desk["R1002"]
    wallet_changes.request_change(FIN1, desk["f1"], r2, "TOPUP", Decimal("10.00"), "", "SN-4")
    before = _counts(r2)
    with pytest.raises(wallet_changes.DuplicateSerial):
        wallet_changes.request_change(FIN2, desk["f2"], r2, "TOPUP", Decimal("10.00"), "", "SN-4")
    assert _counts(r2) == before
    # another reseller's deposit may carry the same serial text
    wallet_changes.request_change(FIN1, desk["f1"], desk["R1001"], "TOPUP", Decimal("10.00"), "", "SN-4")


def test_an_adjustment_below_zero_is_refused_at_once_whatever_the_threshold(desk):
    r2 = desk["R1002"]
    wallet_changes.request_change(FIN1, desk["f1"], r2, "TOPUP", Decimal("100.00"), "", "SN-5")
    before = _counts(r2)
    for amount in ("-100.01", "-5000.00"):  # below and above the threshold
        with pytest.raises(InsufficientBalance):
            wallet_changes.request_change(FIN1, desk["f1"], r2, "ADJUST", Decimal(amount), "booked twice")
    assert _counts(r2) == before
    change = wallet_changes.request_change(FIN1, desk["f1"], r2, "ADJUST", Decimal("-100.00"), "booked twice")
    assert change.status == "APPROVED" and wallet.balance(r2) == Decimal("0.00")
    entry = db.session.get_one(WalletEntry, change.entry_id)
    assert (entry.entry_type, entry.memo_code, entry.memo_params) == ("ADJUST", "ADJUSTMENT",
                                                                      {"reason": "booked twice"})


def test_a_pending_decrease_the_wallet_no_longer_covers_is_not_applied(desk):
    r2 = desk["R1002"]
    wallet_changes.request_change(FIN1, desk["f1"], r2, "TOPUP", Decimal("1000.00"), "", "SN-6")
    wallet_changes.request_change(FIN1, desk["f1"], r2, "TOPUP", Decimal("1000.00"), "", "SN-7")
    change = wallet_changes.request_change(FIN1, desk["f1"], r2, "ADJUST", Decimal("-1500.00"), "correction")
    assert change.status == "PENDING"
    wallet.post(r2, Decimal("-600.00"), "PAYMENT", reference="MP-1", actor="op")
    db.session.commit()
    with pytest.raises(InsufficientBalance):
        wallet_changes.approve(FIN2, desk["f2"], change.id)
    assert wallet.balance(r2) == Decimal("1400.00")
    assert db.session.get_one(WalletChange, change.id).status == "PENDING"


@pytest.mark.parametrize("kind, amount, memo, serial, field", [
    ("TOPUP", "1.005", "", "S", "amount"), ("TOPUP", "-5.00", "", "S", "amount"), ("TOPUP", "0", "", "S", "amount"),
    ("TOPUP", "100000000000.00", "", "S", "amount"), ("TOPUP", "5.00", "", " ", "bankSerial"),
    ("ADJUST", "5.00", " ", None, "reason"), ("ADJUST", "0.00", "x", None, "amount"),
])
def test_bad_requests_store_nothing(desk, kind, amount, memo, serial, field):
    before = _counts(desk["R1002"])
    with pytest.raises(ValidationFailed) as exc:
        wallet_changes.request_change(FIN1, desk["f1"], desk["R1002"], kind, Decimal(amount), memo, serial)
    assert exc.value.errors[0]["field"] == field
    assert _counts(desk["R1002"]) == before


def test_two_approvals_at_once_apply_a_pending_top_up_once(app, desk):
    r2, f2 = desk["R1002"], desk["f2"]
    f3 = add_user("fin3@example.com", "finance")
    db.session.commit()
    ids = [wallet_changes.request_change(FIN1, desk["f1"], r2, "TOPUP", Decimal("2000.00"), "", f"SN-R{i}").id
           for i in range(5)]
    db.session.remove()
    for cid in ids:
        results = race(app, lambda cid=cid: wallet_changes.approve(FIN2, f2, cid).status,
                       lambda cid=cid: wallet_changes.approve(Actor("user", "fin3"), f3, cid).status,
                       refused=DomainError, by_name=True)
        assert sorted(results) == ["APPROVED", "StateConflict"], results
    assert wallet.balance(r2) == Decimal("10000.00")
    assert db.session.scalar(sa.select(sa.func.count(WalletEntry.id)).where(WalletEntry.reseller_id == r2)) == 5
    check_invariants()


def test_top_ups_racing_wallet_payments_leave_the_right_balance(app, desk):
    # R1001 holds 500,000.00 (threshold 1,000,000.00: top-ups are booked at once). Ten wallet payments of
    # 40,000.00 race ten top-ups of 1,234.56: every one of them lands, the balance is their exact sum.
    r1, f1 = desk["R1001"], desk["f1"]
    pids = [make_order(amount="40000.00") for _ in range(10)]
    db.session.remove()
    calls = []
    for i, pid in enumerate(pids):
        calls.append(lambda pid=pid: checkout.submit(OPERATOR, None, r1, [AllocationIn(pid, "40000.00", "WALLET")])
                     .status)
        calls.append(lambda i=i: wallet_changes.request_change(FIN1, f1, r1, "TOPUP", Decimal("1234.56"), "",
                                                                f"SN-P{i}").status)
    results = race(app, *calls, refused=DomainError, by_name=True)
    assert results.count("SUCCEEDED") == 10 and results.count("APPROVED") == 10, results
    assert wallet.balance(r1) == Decimal("500000.00") - 10 * Decimal("40000.00") + 10 * Decimal("1234.56")
    entries = db.session.scalars(sa.select(WalletEntry).where(WalletEntry.reseller_id == r1)
                                 .order_by(WalletEntry.id)).all()
    running = Decimal("0.00")
    for e in entries:  # every balance_after is the running sum: no lost update
        running += e.amount
        assert e.balance_after == running
    check_invariants()
