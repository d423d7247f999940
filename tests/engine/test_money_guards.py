"""Tests with teeth on the money guards that survived the hardening pass's mutants (issue 11): each
test fails when its guard is removed (the mutant it kills is named in its docstring).

The concurrency test has teeth on PostgreSQL, where row locks are what serialises two settlements;
SQLite serialises every writer with BEGIN IMMEDIATE, so there it passes either way."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.domain.errors import DomainError
from app.extensions import db
from app.models import ChannelPayment, CreditRecord, Reseller
from app.services.checkout import approval
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn, CheckoutRejected
from app.services.ledgers.credit_line import CreditUnavailable
from app.services.settlement import channel_result
from app.services.settlement import channel_result as settlement
from tests.support.engine import OPERATOR, check_invariants, make_order, order

APPROVER = OPERATOR.__class__(type="user", id="ap1@r1001.example")


def _wire_payment(reseller_id: int, pid: str, amount: str) -> int:
    res = checkout.submit(OPERATOR, None, reseller_id, [AllocationIn(pid, amount, "WIRE_ICBC")])
    cp = db.session.scalar(sa.select(ChannelPayment.id).where(ChannelPayment.merged_payment_id == res.merged_pk))
    db.session.rollback()
    return cp


def test_two_settlements_of_one_order_at_the_same_time_both_count(app, engine_setup, monkeypatch):
    """Mutant killed: no ``FOR UPDATE`` in ``channel_result.lock_orders`` (both settlements read paid 0.00
    and the second write wins: 300.00 instead of 600.00, a lost update no constraint catches)."""
    pid = make_order(amount="600.00")
    first, second = (_wire_payment(engine_setup["R1001"], pid, "300.00") for _ in range(2))
    real = channel_result.apply_status

    def slow_apply_status(order_, actor, reason):  # widen the window between reading and writing paid_amount
        result = real(order_, actor, reason)
        time.sleep(0.3)
        return result

    monkeypatch.setattr(channel_result, "apply_status", slow_apply_status)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def settle(cp_pk: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                settlement.settle(cp_pk, settlement.Outcome(status="SUCCESS", received_amount=Decimal("300.00")),
                                  OPERATOR)
            except BaseException as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=settle, args=(cp,)) for cp in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    o = order(pid)
    assert (o.paid_amount, o.reserved_amount, o.payment_status) == (Decimal("600.00"), Decimal("0.00"), "PAID")
    check_invariants()


def _threshold(reseller_id: int, amount: str) -> None:
    db.session.execute(sa.update(Reseller).where(Reseller.id == reseller_id).values(
        approval_threshold=Decimal(amount)))
    db.session.commit()


def test_approval_rechecks_the_credit_that_was_used_meanwhile(engine_setup):
    """Mutant killed: no limit check in ``credit_line.book`` (the only check when an approved payment
    books its credit: the credit may have been used while it waited)."""
    r1 = engine_setup["R1001"]  # credit limit 1,000,000.00
    _threshold(r1, "100.00")
    waiting = make_order(amount="800000.00")
    res = checkout.submit(OPERATOR, engine_setup["users"]["op1"], r1, [AllocationIn(waiting, "800000.00", "CREDIT")])
    assert res.status == "PENDING_APPROVAL"
    _threshold(r1, "1000000.00")
    meanwhile = make_order(amount="500000.00")
    checkout.submit(OPERATOR, None, r1, [AllocationIn(meanwhile, "500000.00", "CREDIT")])
    with pytest.raises(CreditUnavailable, match="available credit 500000.00 is less than 800000.00"):
        approval.approve(APPROVER, engine_setup["users"]["ap1"], "reseller_approver", r1, res.merged_payment_id)
    db.session.rollback()
    r = db.session.get(Reseller, r1)
    assert r.credit_used == Decimal("500000.00") <= r.credit_limit
    assert order(waiting).payment_status == "PAYING" and order(waiting).paid_amount == 0  # still waiting
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CreditRecord)) == 1
    check_invariants()


def test_the_database_refuses_credit_above_the_limit(engine_setup):
    """The backstop: CHECK (credit_used <= credit_limit) on resellers (migration a7b8c9d0e1f2)."""
    with pytest.raises(IntegrityError):
        db.session.execute(sa.update(Reseller).where(Reseller.id == engine_setup["R1001"]).values(
            credit_used=Reseller.credit_limit + Decimal("0.01")))
        db.session.flush()
    db.session.rollback()
    db.session.execute(sa.update(Reseller).where(Reseller.id == engine_setup["R1001"]).values(
        credit_used=Reseller.credit_limit))  # exactly at the limit is allowed
    db.session.rollback()


@pytest.mark.parametrize("when", ["at checkout", "at approval"])
def test_a_suspended_credit_line_pays_nothing(engine_setup, when):
    """Mutant killed: ``credit_line.available`` ignoring ``credit_status`` (SUSPENDED credit usable)."""
    r1 = engine_setup["R1001"]
    pid = make_order(amount="1000.00")
    if when == "at checkout":
        db.session.execute(sa.update(Reseller).where(Reseller.id == r1).values(credit_status="SUSPENDED"))
        db.session.commit()
        with pytest.raises(CheckoutRejected) as refused:
            checkout.submit(OPERATOR, None, r1, [AllocationIn(pid, "1000.00", "CREDIT")])
        assert refused.value.problems[0].code == "CREDIT_INSUFFICIENT"
    else:
        _threshold(r1, "100.00")
        res = checkout.submit(OPERATOR, engine_setup["users"]["op1"], r1, [AllocationIn(pid, "1000.00", "CREDIT")])
        db.session.execute(sa.update(Reseller).where(Reseller.id == r1).values(credit_status="SUSPENDED"))
        db.session.commit()
        with pytest.raises(DomainError, match="available credit 0.00"):
            approval.approve(APPROVER, engine_setup["users"]["ap1"], "reseller_approver", r1, res.merged_payment_id)
        db.session.rollback()
    assert db.session.get(Reseller, r1).credit_used == 0
    assert order(pid).paid_amount == 0
    check_invariants()


@pytest.mark.parametrize("amount, waits", [("1000.00", False), ("1000.01", True), ("999.99", False)])
def test_approval_is_needed_strictly_above_the_threshold(engine_setup, amount, waits):
    """Mutant killed: the threshold compared with ``>=`` or shifted by a cent (``> threshold + 1``)."""
    r1 = engine_setup["R1001"]
    _threshold(r1, "1000.00")
    pid = make_order(amount="2000.00")
    res = checkout.submit(OPERATOR, None, r1, [AllocationIn(pid, amount, "WIRE_ICBC")])
    assert (res.status == "PENDING_APPROVAL") is waits
    check_invariants()


def test_the_limit_cannot_be_lowered_below_the_credit_in_use(engine_setup, api):
    """The upstream credit system lowering a limit below what is used gets a 409 naming the field,
    not a constraint error (the CHECK above would otherwise refuse the row)."""
    r1 = engine_setup["R1001"]
    pid = make_order(amount="300000.00")
    checkout.submit(OPERATOR, None, r1, [AllocationIn(pid, "300000.00", "CREDIT")])
    refused = api.put("/api/v1/integration/resellers/R1001", json={"creditLimit": "299999.99"})
    assert refused.status_code == 409 and refused.json["code"] == "STATE_CONFLICT"
    assert refused.json["errors"][0]["field"] == "creditLimit"
    assert db.session.get(Reseller, r1).credit_limit == Decimal("1000000.00")
    db.session.rollback()
    assert api.put("/api/v1/integration/resellers/R1001", json={"creditLimit": "300000.00"}).status_code == 200
