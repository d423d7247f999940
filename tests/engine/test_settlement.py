"""Settlement's own rules (app/services/settlement/channel_result.py), called directly on WIRE channel
payments: a short wire split earliest deadline first, an excess credited to the wallet, failures with
and without a reason, the channel's transaction id, duplicates. Written for the mutants of
bench/mutation.py that the end-to-end tests let through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, ChannelPayment, CreditRecord, OutboxEvent, PaymentTransaction, WalletEntry
from app.models.types import now_utc
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.ledgers import credit_line
from app.services.orders.creation import NewPaymentOrder, create_payment_order
from app.services.platform.actor import Actor
from app.services.settlement import channel_result as settlement
from tests.support.engine import OPERATOR, check_invariants, make_order, order


def _wire(reseller_id: int, *allocations: tuple[str, str]) -> ChannelPayment:
    res = checkout.submit(OPERATOR, None, reseller_id, [AllocationIn(pid, amount, "WIRE_ICBC")
                                                         for pid, amount in allocations])
    return db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))


def _txns(pid: str) -> list[tuple[str, Decimal, str | None]]:
    o = order(pid)
    return [(t.status, t.amount, t.failure_reason) for t in db.session.scalars(
        sa.select(PaymentTransaction).where(PaymentTransaction.payment_order_id == o.id)
        .order_by(PaymentTransaction.id))]


def _wallet_entries(entry_type: str) -> list[tuple[Decimal, str | None]]:
    return [(e.amount, e.reference) for e in db.session.scalars(
        sa.select(WalletEntry).where(WalletEntry.entry_type == entry_type).order_by(WalletEntry.id))]


def test_a_short_wire_pays_the_earliest_deadline_first(engine_setup):
    soon, later = now_utc() + timedelta(days=2), now_utc() + timedelta(days=9)
    none = make_order(amount="100.00")  # no deadline: last
    late = make_order(amount="300.00", deadline=later)
    early = make_order(amount="200.00", deadline=soon)
    cp = _wire(engine_setup["R1001"], (none, "100.00"), (late, "300.00"), (early, "200.00"))
    db.session.commit()
    assert settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", received_amount=Decimal("350.00")),
                             OPERATOR)
    # early 200.00 in full, late 150.00 of 300.00 (the rest fails), nothing for the order without a deadline
    assert _txns(early) == [("SUCCESS", Decimal("200.00"), None)]
    assert _txns(late) == [("FAILED", Decimal("150.00"), "success"), ("SUCCESS", Decimal("150.00"), None)]
    assert _txns(none) == [("FAILED", Decimal("100.00"), "success")]
    assert [(order(p).paid_amount, order(p).reserved_amount, order(p).payment_status)
            for p in (early, late, none)] == [
        (Decimal("200.00"), 0, "PAID"), (Decimal("150.00"), 0, "PARTIAL_PAID"), (Decimal("0.00"), 0, "FAILED")]
    split = db.session.scalars(sa.select(PaymentTransaction).where(PaymentTransaction.remark.is_not(None))).one()
    assert split.amount == Decimal("150.00") and split.remark.startswith("part of ")
    settled = db.session.get(ChannelPayment, cp.id)
    assert (settled.status, settled.received_amount) == ("SUCCESS", Decimal("350.00"))
    assert _wallet_entries("EXCESS") == []
    check_invariants()


def test_a_short_wire_covering_one_order_exactly_fails_the_rest(engine_setup):
    a, b = make_order(amount="100.00"), make_order(amount="100.00")
    cp = _wire(engine_setup["R1001"], (a, "100.00"), (b, "100.00"))
    db.session.commit()
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", received_amount=Decimal("100.00")), OPERATOR)
    assert _txns(a) == [("SUCCESS", Decimal("100.00"), None)]
    assert _txns(b) == [("FAILED", Decimal("100.00"), "success")]
    assert (order(b).last_attempt_failed, order(b).payment_status) == (True, "FAILED")
    check_invariants()


def test_a_wire_above_the_amount_credits_the_excess_to_the_wallet(engine_setup):
    a = make_order(amount="500.00")
    cp = _wire(engine_setup["R1001"], (a, "500.00"))
    db.session.commit()
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", received_amount=Decimal("500.01")), OPERATOR)
    assert order(a).paid_amount == Decimal("500.00") and order(a).payment_status == "PAID"
    assert _wallet_entries("EXCESS") == [(Decimal("0.01"), cp.channel_payment_id)]
    assert db.session.get(ChannelPayment, cp.id).received_amount == Decimal("500.01")
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "channel_payment.success")).one()
    assert audit.after == {"amount": "500.00", "received": "500.01", "reason": ""}
    check_invariants()


def test_a_wire_of_the_exact_amount_leaves_the_wallet_alone(engine_setup):
    a = make_order(amount="500.00")
    cp = _wire(engine_setup["R1001"], (a, "500.00"))
    db.session.commit()
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", received_amount=Decimal("500.00")), OPERATOR)
    assert order(a).payment_status == "PAID" and _wallet_entries("EXCESS") == []
    check_invariants()


def test_a_success_without_an_amount_pays_the_whole_payment(engine_setup):
    a, b = make_order(amount="100.00"), make_order(amount="200.00")
    cp = _wire(engine_setup["R1001"], (a, "100.00"), (b, "150.00"))
    db.session.commit()
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", channel_transaction_id="BANK-1"), OPERATOR)
    assert [(order(p).paid_amount, order(p).payment_status) for p in (a, b)] == [
        (Decimal("100.00"), "PAID"), (Decimal("150.00"), "PARTIAL_PAID")]
    settled = db.session.get(ChannelPayment, cp.id)
    assert (settled.received_amount, settled.channel_transaction_id) == (None, "BANK-1")
    assert {t.channel_transaction_id for t in db.session.scalars(sa.select(PaymentTransaction))} == {"BANK-1"}
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "channel_payment.success")).one()
    assert audit.after == {"amount": "250.00", "received": None, "reason": ""}
    check_invariants()


def test_the_first_channel_transaction_id_is_kept(engine_setup):
    a = make_order(amount="100.00")
    cp = _wire(engine_setup["R1001"], (a, "100.00"))
    cp.channel_transaction_id = "GW-FIRST"
    db.session.commit()
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", channel_transaction_id="GW-LATER"), OPERATOR)
    assert db.session.get(ChannelPayment, cp.id).channel_transaction_id == "GW-FIRST"
    assert _txns(a)[0][0] == "SUCCESS"
    txn = db.session.scalars(sa.select(PaymentTransaction)).one()
    assert txn.channel_transaction_id == "GW-LATER"  # the allocation records what this result said


def test_a_failure_keeps_its_reason_and_a_failure_without_one_says_its_status(engine_setup):
    a, b = make_order(amount="100.00"), make_order(amount="100.00")
    with_reason = _wire(engine_setup["R1001"], (a, "100.00"))
    without = _wire(engine_setup["R1001"], (b, "100.00"))
    without.failure_reason = "earlier note"
    db.session.commit()
    settlement.settle(with_reason.id, settlement.Outcome(status="FAILED", reason="card declined"), OPERATOR)
    settlement.settle(without.id, settlement.Outcome(status="EXPIRED"), OPERATOR)
    assert _txns(a) == [("FAILED", Decimal("100.00"), "card declined")]
    assert _txns(b) == [("FAILED", Decimal("100.00"), "expired")]
    assert db.session.get(ChannelPayment, with_reason.id).failure_reason == "card declined"
    assert db.session.get(ChannelPayment, without.id).failure_reason == "earlier note"  # kept when none is given
    # a decline marks the order's last attempt failed; an expiry does not
    assert (order(a).last_attempt_failed, order(a).payment_status) == (True, "FAILED")
    assert (order(b).last_attempt_failed, order(b).payment_status) == (False, "UNPAID")
    failed = db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == "transaction.failed")
                                .order_by(OutboxEvent.id)).all()
    assert [e.payload["reason"] for e in failed] == ["card declined", "expired"]
    check_invariants()


def test_a_second_result_changes_nothing(engine_setup):
    a = make_order(amount="100.00")
    cp = _wire(engine_setup["R1001"], (a, "100.00"))
    db.session.commit()
    assert settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", received_amount=Decimal("100.00")),
                             OPERATOR) is True
    version = order(a).version
    assert settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", received_amount=Decimal("900.00")),
                             OPERATOR) is False
    assert order(a).paid_amount == Decimal("100.00") and order(a).version == version
    assert _wallet_entries("EXCESS") == []
    check_invariants()


def test_each_settled_order_moves_one_version_on(engine_setup):
    a = make_order(amount="100.00")
    cp = _wire(engine_setup["R1001"], (a, "100.00"))
    db.session.commit()
    before = order(a)
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS"), OPERATOR)
    after = order(a)
    assert after.version == before.version + 1 and after.updated_at >= before.updated_at
    changed = db.session.scalars(sa.select(OutboxEvent).where(
        OutboxEvent.event_type == "payment_order.status_changed").order_by(OutboxEvent.id.desc())).first()
    assert changed.payload["paymentStatus"] == "PAID"


def test_a_wire_of_one_cent_pays_one_cent(engine_setup):
    a = make_order(amount="100.00")
    cp = _wire(engine_setup["R1001"], (a, "100.00"))
    db.session.commit()
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", received_amount=Decimal("0.01")), OPERATOR)
    assert _txns(a) == [("FAILED", Decimal("99.99"), "success"), ("SUCCESS", Decimal("0.01"), None)]
    assert (order(a).paid_amount, order(a).payment_status, order(a).last_attempt_failed) == (
        Decimal("0.01"), "PARTIAL_PAID", False)
    check_invariants()


def test_only_a_failed_allocation_carries_a_reason(engine_setup):
    a, b = make_order(amount="100.00"), make_order(amount="100.00")
    cp = _wire(engine_setup["R1001"], (a, "100.00"), (b, "100.00"))
    db.session.commit()
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", received_amount=Decimal("150.00")), OPERATOR)
    events = {e.event_type: e.payload for e in db.session.scalars(sa.select(OutboxEvent).where(
        OutboxEvent.event_type.in_(("transaction.succeeded", "transaction.failed"))))}
    assert "reason" not in events["transaction.succeeded"] and events["transaction.failed"]["reason"] == "success"


def test_a_success_after_a_failure_clears_the_failed_attempt(engine_setup):
    a = make_order(amount="100.00")
    declined = _wire(engine_setup["R1001"], (a, "100.00"))
    db.session.commit()
    settlement.settle(declined.id, settlement.Outcome(status="FAILED", reason="rejected"), OPERATOR)
    assert order(a).last_attempt_failed is True
    paid = _wire(engine_setup["R1001"], (a, "40.00"))
    db.session.commit()
    settlement.settle(paid.id, settlement.Outcome(status="SUCCESS"), OPERATOR)
    assert (order(a).last_attempt_failed, order(a).payment_status) == (False, "PARTIAL_PAID")
    check_invariants()


def test_a_repayment_above_what_is_still_owed_credits_the_rest_to_the_wallet(engine_setup):
    r1 = engine_setup["R1001"]
    bought = make_order(amount="100.00")
    checkout.submit(OPERATOR, None, r1, [AllocationIn(bought, "100.00", "CREDIT")])
    rec = db.session.scalars(sa.select(CreditRecord)).one()
    record_id = rec.credit_record_id
    repayment = create_payment_order(
        Actor(type="api_client", id="credit-system", client_id=None),
        NewPaymentOrder(order_id=rec.order_id, reseller_code="R1001", payment_type="CREDIT_REPAYMENT",
                        payment_amount=Decimal("100.00"), credit_record_id=record_id),
        idempotency_key=None, fingerprint="x").order.payment_id
    credit_line.repay(record_id, Decimal("0.01"), "TX-ELSEWHERE", "credit-system")  # repaid a cent meanwhile
    db.session.commit()
    cp = _wire(r1, (repayment, "100.00"))
    db.session.commit()
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS"), OPERATOR)
    assert [amount for amount, _ in _wallet_entries("EXCESS")] == [Decimal("0.01")]
    rec = db.session.scalars(sa.select(CreditRecord)).one()
    assert (rec.outstanding_amount, rec.status) == (Decimal("0.00"), "REPAID")
    check_invariants()


def test_a_repayment_of_exactly_what_is_owed_leaves_the_wallet_alone(engine_setup):
    r1 = engine_setup["R1001"]
    bought = make_order(amount="100.00")
    checkout.submit(OPERATOR, None, r1, [AllocationIn(bought, "100.00", "CREDIT")])
    rec = db.session.scalars(sa.select(CreditRecord)).one()
    repayment = create_payment_order(
        Actor(type="api_client", id="credit-system", client_id=None),
        NewPaymentOrder(order_id=rec.order_id, reseller_code="R1001", payment_type="CREDIT_REPAYMENT",
                        payment_amount=Decimal("100.00"), credit_record_id=rec.credit_record_id),
        idempotency_key=None, fingerprint="x").order.payment_id
    db.session.commit()
    cp = _wire(r1, (repayment, "100.00"))
    db.session.commit()
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS"), OPERATOR)
    assert _wallet_entries("EXCESS") == [] and order(repayment).payment_status == "PAID"
    assert db.session.scalars(sa.select(CreditRecord)).one().status == "REPAID"
    check_invariants()


def test_the_channel_s_completion_time_is_kept(engine_setup):
    a, b = make_order(amount="100.00"), make_order(amount="100.00")
    timed, untimed = _wire(engine_setup["R1001"], (a, "100.00")), _wire(engine_setup["R1001"], (b, "100.00"))
    db.session.commit()
    paid_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    settlement.settle(timed.id, settlement.Outcome(status="SUCCESS", completed_at=paid_at), OPERATOR)
    settlement.settle(untimed.id, settlement.Outcome(status="SUCCESS"), OPERATOR)
    assert db.session.get(ChannelPayment, timed.id).completed_at == paid_at
    assert db.session.get(ChannelPayment, untimed.id).completed_at is not None
    assert [t.completed_at is not None for t in db.session.scalars(sa.select(PaymentTransaction))] == [True, True]


def test_a_paid_final_payment_is_no_repayment(engine_setup):
    """Only a CREDIT_REPAYMENT order repays credit (FINAL_PAYMENT and OTHER_FEE sort after it as text)."""
    a, b = make_order(amount="100.00", payment_type="FINAL_PAYMENT"), make_order(amount="50.00",
                                                                                   payment_type="OTHER_FEE")
    cp = _wire(engine_setup["R1001"], (a, "100.00"), (b, "50.00"))
    db.session.commit()
    assert settlement.settle(cp.id, settlement.Outcome(status="SUCCESS"), OPERATOR)
    assert [order(p).payment_status for p in (a, b)] == ["PAID", "PAID"]
    check_invariants()
