"""Refunds (docs/DOMAIN.md §6): strategies, every channel kind, the ONLINE gateway round trip, retries and
concurrency. ``check_invariants`` (conftest) holds after every test."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.domain.errors import IdempotencyKeyReused, NotFound, StateConflict, ValidationFailed
from app.extensions import db
from app.models import (
    Channel,
    ChannelPayment,
    CreditRecord,
    OutboxEvent,
    PaymentTransaction,
    Refund,
    Reseller,
)
from app.models.payment_order import StatusLog
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.ledgers import credit_line
from app.services.platform.actor import Actor
from app.services.refunds import online as refund_online
from app.services.refunds import retry as refund_retry
from app.services.refunds import view as refund_view
from app.services.refunds.allocation import split_proportional
from app.services.refunds.creation import create_refund
from app.services.refunds.instruction import RefundInstruction
from sandbox import signing
from sandbox.testing import http_request, wait_until
from tests.support.engine import FINANCE, OPERATOR, check_invariants, detached, make_order, order
from tests.support.online_gateway import CALLBACK_SECRET
from tests.support.refunds import race_refunds

ORDER_SYSTEM = Actor(type="api_client", id="order-system", client_id=None)
REFUND_CALLBACK = "/api/v1/payment/callback/refund/ONLINE_UNIONPAY"
_n = {"n": 0}


def _ro() -> str:
    _n["n"] += 1
    return f"RO-{_n['n']:05d}"


def _pay(engine_setup, pid, *rows):
    """Pay ``pid`` with (amount, channel) rows, one checkout each; WALLET and CREDIT settle at once."""
    for a, c in rows:
        checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, a, c)])
        db.session.remove()


def _refund(pid, amount, ro=None, **kw):
    ins = RefundInstruction(refund_order_id=ro or _ro(), payment_id=pid, amount=Decimal(amount), **kw)
    refund, code, dup = create_refund(ORDER_SYSTEM, ins)
    data = refund_view.refund_dict(refund)
    db.session.rollback()
    return data, code, dup


def _parts(data):
    return sorted((p["paymentChannel"], p["transactionAmount"], p["transactionStatus"]) for p in data["parts"])


def _txn(txn_id) -> PaymentTransaction:
    db.session.expire_all()
    return detached(db.session.scalar(sa.select(PaymentTransaction).where(PaymentTransaction.transaction_id == txn_id)))


def _payments(pid):
    db.session.expire_all()
    o = order(pid)
    rows = db.session.scalars(sa.select(PaymentTransaction).where(
        PaymentTransaction.payment_order_id == o.id, PaymentTransaction.transaction_type == "PAYMENT",
        PaymentTransaction.status == "SUCCESS").order_by(PaymentTransaction.id)).all()
    for r in rows:
        db.session.expunge(r)
    db.session.rollback()
    return rows


def _wallet(engine_setup) -> Decimal:
    db.session.expire_all()
    v = db.session.get(Reseller, engine_setup["R1001"]).wallet_balance
    db.session.rollback()
    return v


def _count(model, *where):
    n = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
    db.session.rollback()
    return n


# --- the split ----------------------------------------------------------------------------------

def test_proportional_split_sums_exactly_in_cents():
    def t(i, amount):
        return SimpleNamespace(id=i, refundable_amount=Decimal(amount))

    txns = [t(1, "333.33"), t(2, "333.33"), t(3, "333.34")]
    parts = split_proportional(txns, Decimal("100.00"))
    assert [(x.id, a) for x, a in parts] == [(1, Decimal("33.33")), (2, Decimal("33.33")), (3, Decimal("33.34"))]
    parts = split_proportional([t(1, "0.01"), t(2, "0.01"), t(3, "999.98")], Decimal("0.02"))
    assert sum(a for _, a in parts) == Decimal("0.02") and all(a > 0 for _, a in parts)
    parts = split_proportional([t(1, "0.01"), t(2, "10.00")], Decimal("10.01"))
    assert [(x.id, a) for x, a in parts] == [(1, Decimal("0.01")), (2, Decimal("10.00"))]
    for want in ("0.01", "0.07", "1.00", "123.45", "999.99"):
        parts = split_proportional(txns, Decimal(want))
        assert sum(a for _, a in parts) == Decimal(want)
        assert all(a <= x.refundable_amount for x, a in parts)


# --- WALLET and CREDIT ---------------------------------------------------------------------------

def test_wallet_full_refund_is_credited_at_once(engine_setup):
    pid = make_order(amount="1000.00")
    _pay(engine_setup, pid, ("1000.00", "WALLET"))
    before = _wallet(engine_setup)
    data, code, dup = _refund(pid, "1000.00", refund_type="FULL")
    assert code == 201 and not dup and data["status"] == "SUCCESS" and data["completedAt"]
    assert _parts(data) == [("WALLET", "-1000.00", "SUCCESS")]
    part = data["parts"][0]
    assert part["businessOrderId"] == data["refundOrderId"] and part["originalTransactionId"]
    assert _wallet(engine_setup) == before + Decimal("1000.00")
    o = order(pid)
    assert o.refunded_amount == Decimal("1000.00") and o.refunding_amount == 0
    assert o.refund_status == "FULL_REFUNDED" and o.payment_status == "PAID"
    assert _count(StatusLog, StatusLog.payment_order_id == o.id, StatusLog.field == "refund") == 2
    assert _count(OutboxEvent, OutboxEvent.event_type == "refund.succeeded") == 1
    with pytest.raises(StateConflict, match="exceeds the refundable amount 0.00"):
        _refund(pid, "0.01")
    check_invariants()


def test_refund_status_follows_a_later_payment(engine_setup):
    """Derived from the paid amount too: a FULL_REFUNDED order paid again is PARTIAL_REFUNDED."""
    pid = make_order(amount="1000.00")
    _pay(engine_setup, pid, ("400.00", "WALLET"))
    _refund(pid, "400.00", refund_type="FULL")
    assert order(pid).refund_status == "FULL_REFUNDED"
    _pay(engine_setup, pid, ("100.00", "CREDIT"))
    o = order(pid)
    assert (o.paid_amount, o.refunded_amount, o.refund_status) == (Decimal("500.00"), Decimal("400.00"),
                                                                   "PARTIAL_REFUNDED")
    logs = db.session.scalars(sa.select(StatusLog.to_status).where(
        StatusLog.payment_order_id == o.id, StatusLog.field == "refund").order_by(StatusLog.id)).all()
    db.session.rollback()
    assert logs == ["REFUNDING", "FULL_REFUNDED", "PARTIAL_REFUNDED"]
    check_invariants()


def test_amounts_that_add_up_exactly_are_accepted_on_every_database(engine_setup):
    """1237.97 + 1118.67 and 0.01 + 118.12 are not exact in binary floats (SQLite's NUMERIC): the
    rest of a partly paid order is payable, the rest of a partly refunded one refundable."""
    pid = make_order(amount="2356.64")
    _pay(engine_setup, pid, ("1237.97", "WALLET"), ("1118.67", "WALLET"))
    assert order(pid).payment_status == "PAID"
    _refund(pid, "1237.97")
    data, _, _ = _refund(pid, "1118.67", refund_type="FULL")
    assert data["status"] == "SUCCESS" and order(pid).refund_status == "FULL_REFUNDED"
    other = make_order(amount="118.13")
    _pay(engine_setup, other, ("118.13", "WALLET"))
    txn = _payments(other)[0].transaction_id
    _refund(other, "0.01", strategy="SPECIFIED", transaction_id=txn)
    data, _, _ = _refund(other, "118.12", strategy="SPECIFIED", transaction_id=txn, refund_type="FULL")
    assert data["status"] == "SUCCESS" and _txn(txn).refunded_amount == Decimal("118.13")
    check_invariants()


def test_latest_spills_from_newest_into_older(engine_setup):
    pid = make_order(amount="1000.00")
    _pay(engine_setup, pid, ("600.00", "WALLET"))
    time.sleep(0.01)
    _pay(engine_setup, pid, ("400.00", "CREDIT"))
    old, new = _payments(pid)
    data, code, _ = _refund(pid, "500.00")
    assert code == 201 and data["status"] == "SUCCESS"
    by_orig = {p["originalTransactionId"]: p["transactionAmount"] for p in data["parts"]}
    assert by_orig == {new.transaction_id: "-400.00", old.transaction_id: "-100.00"}
    assert _txn(new.transaction_id).refunded_amount == Decimal("400.00")
    assert _txn(old.transaction_id).refunded_amount == Decimal("100.00")
    assert order(pid).refund_status == "PARTIAL_REFUNDED"
    check_invariants()


def test_credit_refund_reduces_the_record_and_sends_repaid_part_to_wallet(engine_setup):
    pid = make_order(amount="1000.00")
    _pay(engine_setup, pid, ("1000.00", "CREDIT"))
    rec = db.session.scalar(sa.select(CreditRecord))
    record_id = rec.credit_record_id
    db.session.rollback()
    data, code, _ = _refund(pid, "300.00")
    assert code == 201 and data["status"] == "SUCCESS"
    rec = db.session.scalar(sa.select(CreditRecord))
    assert rec.outstanding_amount == Decimal("700.00")
    assert db.session.get(Reseller, engine_setup["R1001"]).credit_used == Decimal("700.00")
    db.session.rollback()
    credit_line.repay(record_id, Decimal("600.00"), reference="test", actor="test")  # 100 outstanding
    db.session.commit()
    before = _wallet(engine_setup)
    data, code, _ = _refund(pid, "500.00")
    assert data["status"] == "SUCCESS"
    rec = db.session.scalar(sa.select(CreditRecord))
    assert rec.outstanding_amount == 0 and rec.status == "REPAID"
    db.session.rollback()
    assert _wallet(engine_setup) == before + Decimal("400.00")
    assert order(pid).refunded_amount == Decimal("800.00")
    assert _count(OutboxEvent, OutboxEvent.event_type == "credit_repayment.completed") >= 2
    check_invariants()


def test_specified_and_validation(engine_setup):
    pid = make_order(amount="1000.00")
    _pay(engine_setup, pid, ("700.00", "WALLET"), ("300.00", "CREDIT"))
    other = make_order(amount="100.00")
    _pay(engine_setup, other, ("100.00", "WALLET"))
    txns = {t.channel_code: t for t in _payments(pid)}
    foreign = _payments(other)[0]
    with pytest.raises(ValidationFailed) as e:
        _refund(pid, "10.00", strategy="SPECIFIED", transaction_id=foreign.transaction_id)
    assert e.value.errors[0]["field"] == "transactionId"
    with pytest.raises(StateConflict, match="exceeds the refundable amount 300.00 of transaction"):
        _refund(pid, "300.01", strategy="SPECIFIED", transaction_id=txns["CREDIT"].transaction_id)
    with pytest.raises(StateConflict, match="exceeds the refundable amount 1000.00"):
        _refund(pid, "1000.01")
    with pytest.raises(ValidationFailed) as e:
        _refund(pid, "999.00", refund_type="FULL")
    assert e.value.errors[0]["field"] == "refundAmount"
    with pytest.raises(NotFound):
        _refund("PAY-NOPE", "1.00")
    data, code, _ = _refund(pid, "300.00", strategy="SPECIFIED", transaction_id=txns["CREDIT"].transaction_id)
    assert _parts(data) == [("CREDIT", "-300.00", "SUCCESS")]
    assert _count(Refund) == 1
    check_invariants()


def test_replay_is_idempotent_and_different_body_is_refused(engine_setup):
    pid = make_order(amount="1000.00")
    _pay(engine_setup, pid, ("1000.00", "WALLET"))
    first, code, dup = _refund(pid, "100.00", ro="RO-SAME", reason="spec change")
    again, code2, dup2 = _refund(pid, "100.00", ro="RO-SAME", reason="spec change")
    assert (code, dup, code2, dup2) == (201, False, 201, True) and again["refundId"] == first["refundId"]
    with pytest.raises(IdempotencyKeyReused):
        _refund(pid, "100.01", ro="RO-SAME", reason="spec change")
    assert order(pid).refunded_amount == Decimal("100.00") and _count(Refund) == 1
    check_invariants()


def test_partial_refund_on_a_channel_without_partial_refunds_is_refused(engine_setup):
    db.session.execute(sa.update(Channel).where(Channel.code == "WALLET").values(supports_partial_refund=False))
    db.session.commit()
    pid = make_order(amount="1000.00")
    _pay(engine_setup, pid, ("1000.00", "WALLET"))
    with pytest.raises(StateConflict, match="channel WALLET does not support partial refunds"):
        _refund(pid, "100.00")
    assert _count(Refund) == 0 and order(pid).refund_status == "NO_REFUND"
    data, code, _ = _refund(pid, "1000.00", refund_type="FULL")
    assert data["status"] == "SUCCESS"
    check_invariants()


# --- ONLINE against the sandbox gateway -----------------------------------------------------------

def _pay_online(online, engine_setup, pid, amount):
    before = order(pid).paid_amount
    res = checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, amount, "ONLINE_UNIONPAY")])
    db.session.expire_all()
    cp = detached(db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk)))
    online.complete_payment(cp.channel_transaction_id, "SUCCESS")
    wait_until(lambda: order(pid).paid_amount == before + Decimal(amount))
    return cp


def _refund_status(ro):
    db.session.expire_all()
    s = db.session.scalar(sa.select(Refund.status).where(Refund.refund_order_id == ro))
    db.session.rollback()
    return s


def test_three_channels_refunded_proportionally_with_exact_cents(online, engine_setup):
    online.set_faults(refund_delay_ms=50, refund_outcome="SUCCESS")
    pid = make_order(amount="1000.00")
    _pay(engine_setup, pid, ("333.33", "WALLET"), ("333.33", "CREDIT"))
    _pay_online(online, engine_setup, pid, "333.34")
    data, code, _ = _refund(pid, "100.00", ro="RO-PROP", strategy="PROPORTIONAL")
    assert code == 202 and data["status"] == "PROCESSING"
    assert _parts(data) == [("CREDIT", "-33.33", "SUCCESS"), ("ONLINE_UNIONPAY", "-33.34", "PROCESSING"),
                            ("WALLET", "-33.33", "SUCCESS")]
    assert order(pid).refund_status == "REFUNDING"
    wait_until(lambda: _refund_status("RO-PROP") == "SUCCESS", timeout=10)
    o = order(pid)
    assert o.refunded_amount == Decimal("100.00") and o.refunding_amount == 0
    assert o.refund_status == "PARTIAL_REFUNDED"
    again, code2, dup = _refund(pid, "100.00", ro="RO-PROP", strategy="PROPORTIONAL")
    assert (code2, dup, again["status"]) == (202, True, "SUCCESS")
    check_invariants()


def test_gateway_refund_failure_then_finance_retry(online, engine_setup):
    online.set_faults(refund_delay_ms=50, refund_outcome="FAILED")
    pid = make_order(amount="500.00")
    _pay_online(online, engine_setup, pid, "500.00")
    data, code, _ = _refund(pid, "200.00", ro="RO-FAIL")
    assert code == 202
    wait_until(lambda: _refund_status("RO-FAIL") == "FAILED", timeout=10)
    failed = _txn(data["parts"][0]["transactionId"])
    assert failed.status == "FAILED" and failed.failure_reason
    o = order(pid)
    assert o.refund_status == "REFUND_FAILED" and o.refunding_amount == 0 and o.refunded_amount == 0
    assert _count(OutboxEvent, OutboxEvent.event_type == "refund.failed") == 1
    online.set_faults(refund_outcome="SUCCESS")
    retry = refund_retry.retry_part(FINANCE, failed.id)
    db.session.rollback()
    assert retry.status == "PROCESSING"
    wait_until(lambda: _refund_status("RO-FAIL") == "SUCCESS", timeout=10)
    o = order(pid)
    assert o.refund_status == "PARTIAL_REFUNDED" and o.refunded_amount == Decimal("200.00")
    with pytest.raises(StateConflict):
        refund_retry.retry_part(FINANCE, failed.id)  # nothing left to retry
    check_invariants()


def test_forged_refund_callback_is_rejected_and_changes_nothing(online, engine_setup, portal_http):
    online.set_faults(refund_delay_ms=60000, refund_outcome="SUCCESS")
    pid = make_order(amount="500.00")
    cp = _pay_online(online, engine_setup, pid, "500.00")
    data, _, _ = _refund(pid, "200.00", ro="RO-FORGE")
    part = data["parts"][0]

    def post(secret, amount="200.00", event="ev-forged"):
        body = json.dumps({"eventId": event, "type": "refund", "merchantNo": "MCH1001",
                           "merchantRefundNo": part["transactionId"], "merchantOrderNo": cp.channel_payment_id,
                           "refundId": "GR-forged", "amount": amount, "status": "SUCCESS", "refundedAt": None,
                           "failReason": None}, separators=(",", ":")).encode()
        return http_request("POST", portal_http + REFUND_CALLBACK, body,
                            {"Content-Type": "application/json", signing.HEADER: signing.sign(secret, body)})

    assert post("not-the-secret").status == 400
    assert post(CALLBACK_SECRET, amount="150.00").status == 400
    assert _txn(part["transactionId"]).status == "PROCESSING" and order(pid).refunded_amount == 0
    r = post(CALLBACK_SECRET, event="ev-real")
    assert r.status == 200 and r.text == "success"
    assert post(CALLBACK_SECRET, event="ev-real").status == 200  # duplicate
    assert _refund_status("RO-FORGE") == "SUCCESS" and order(pid).refunded_amount == Decimal("200.00")
    assert http_request("POST", portal_http + "/api/v1/payment/callback/refund/NOPE", b"{}",
                        {"Content-Type": "application/json"}).status == 404
    check_invariants()


def test_dropped_refund_callback_is_caught_by_the_query_job(online, engine_setup):
    online.set_faults(refund_delay_ms=20, refund_outcome="SUCCESS")
    pid = make_order(amount="500.00")
    _pay_online(online, engine_setup, pid, "500.00")
    online.set_faults(drop_rate=1.0)
    data, _, _ = _refund(pid, "500.00", ro="RO-DROP", refund_type="FULL")
    time.sleep(0.3)
    assert _refund_status("RO-DROP") == "PROCESSING"
    assert refund_online.compensate_refunds(older_than_seconds=3600) == {}  # not due yet
    assert refund_online.compensate_refunds(older_than_seconds=0) == {"success": 1}
    assert _refund_status("RO-DROP") == "SUCCESS" and order(pid).refund_status == "FULL_REFUNDED"
    check_invariants()


# --- concurrency (both databases) -------------------------------------------------------------------

def test_concurrent_refunds_never_refund_more_than_paid(app, engine_setup):
    pid = make_order(amount="1000.00")
    _pay(engine_setup, pid, ("600.00", "WALLET"), ("400.00", "CREDIT"))
    results = race_refunds(app, [RefundInstruction(f"RO-C{i:02d}", pid, Decimal("150.00")) for i in range(20)])
    assert results.count(201) == 6 and results.count("StateConflict") == 14, results
    o = order(pid)
    assert o.refunded_amount == Decimal("900.00") and o.refunding_amount == 0
    check_invariants()


def test_concurrent_replays_make_one_refund(app, engine_setup):
    pid = make_order(amount="1000.00")
    _pay(engine_setup, pid, ("1000.00", "WALLET"))
    ins = RefundInstruction("RO-ONE", pid, Decimal("250.00"), strategy="PROPORTIONAL")
    results = race_refunds(app, [ins] * 20)
    assert results.count(201) == 1 and results.count("duplicate") == 19, results
    assert _count(Refund) == 1 and order(pid).refunded_amount == Decimal("250.00")
    check_invariants()


def test_concurrent_online_refunds_send_each_part_to_the_gateway_once(app, online, engine_setup):
    online.set_faults(refund_delay_ms=50, refund_outcome="SUCCESS")
    pid = make_order(amount="1000.00")
    _pay_online(online, engine_setup, pid, "1000.00")
    results = race_refunds(app, [RefundInstruction(f"RO-O{i:02d}", pid, Decimal("150.00")) for i in range(20)])
    assert results.count(202) == 6 and results.count("StateConflict") == 14, results
    wait_until(lambda: order(pid).refunded_amount == Decimal("900.00"), timeout=10)
    assert online.stats()["refunds"] == 6 and order(pid).refunding_amount == 0
    check_invariants()
