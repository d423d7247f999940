"""WIRE refunds (docs/DOMAIN.md §6): a part refunding a wire payment becomes a disbursement (代付) to the
reseller's registered refund account, through the payout merchant REFUND_PAYOUT_MERCHANT_ID (M1001),
against the real sandbox gateway; the part settles when the payout does (bank answer, callback,
polling, or finance's MANUAL settlement)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.channels.online import signature
from app.domain.errors import StateConflict
from app.extensions import db
from app.models import AuditEntry, Disbursement, Merchant, OutboxEvent, PaymentTransaction, Refund, Reseller
from app.models.types import now_utc
from app.services.payouts import manual as payout_manual
from app.services.payouts import polling as payout_polling
from app.services.refunds import retry as refund_retry
from app.services.refunds.instruction import RefundInstruction
from sandbox.testing import wait_until
from tests.support.engine import FINANCE, check_invariants, detached, make_order, order
from tests.support.online_gateway import CALLBACK_SECRET, MERCHANT
from tests.support.refunds import (
    ACCOUNT,
    count,
    events,
    part,
    pay,
    pay_by_wire,
    pay_online,
    race_refunds,
    refund,
    refund_status,
)


def payout_of(part_txn_id: str) -> Disbursement:
    db.session.expire_all()
    pk = db.session.scalar(sa.select(PaymentTransaction.id).where(PaymentTransaction.transaction_id == part_txn_id))
    return detached(db.session.scalar(sa.select(Disbursement).where(Disbursement.refund_transaction_id == pk)))


def gateway_payout(gw, order_no) -> dict:
    payout_id = gw.client().call("/api/payouts/query", merchantPayoutNo=order_no).json()["payoutId"]
    return gw.admin("GET", f"/_sandbox/payouts/{payout_id}").json()


# --- the round trip -------------------------------------------------------------------------------

def test_wire_refund_is_paid_out_to_the_registered_account(wire, engine_setup):
    pid = make_order(amount="1000.00")
    pay_by_wire(engine_setup, pid, "1000.00")
    data, code, dup = refund(pid, "300.00", ro="RW-PAY")
    assert (code, dup) == (202, False)
    (p,) = data["parts"]
    assert (p["paymentChannel"], p["transactionAmount"]) == ("WIRE_ICBC", "-300.00")
    d = payout_of(p["transactionId"])
    assert p["channelTransactionId"] == d.order_no and p["transactionStatus"] == "SUCCESS"  # the bank paid at once
    assert (d.status, d.source, d.amount, d.bank_code) == ("SUCCESS", "REFUND", Decimal("300.00"), "ICBC")
    assert d.request_id == "refund:" + p["transactionId"] and d.account_no_masked == "6222 **** **** 0123"
    assert db.session.get(Merchant, d.merchant_id).merchant_id == "M1001"
    db.session.rollback()
    at_bank = gateway_payout(wire, d.order_no)
    assert (at_bank["accountNo"], at_bank["accountName"], at_bank["amount"]) == (ACCOUNT, "华东设备", "300.00")
    assert wire.stats()["payouts_by_merchant_payout_no"] == {d.order_no: 1}
    assert data["status"] == "SUCCESS" and refund_status("RW-PAY") == "SUCCESS"
    o = order(pid)
    assert (o.refunded_amount, o.refunding_amount, o.refund_status) == (Decimal("300.00"), 0, "PARTIAL_REFUNDED")
    (ev,) = events("refund.succeeded")
    assert ev["channelInfo"] == {"channel": "WIRE_ICBC", "channelTransactionId": d.order_no}
    assert ev["refundOrderId"] == "RW-PAY" and ev["transactionAmount"] == "300.00"
    (completed,) = events("disbursement.completed")
    assert completed["source"] == "REFUND" and ACCOUNT not in json.dumps(completed)
    again, code2, dup2 = refund(pid, "300.00", ro="RW-PAY")
    assert (code2, dup2, again["status"]) == (202, True, "SUCCESS")
    assert count(Disbursement) == 1
    check_invariants()


@pytest.mark.parametrize("outcome,final", [("async_success", "SUCCESS"), ("async_fail", "FAILED")])
def test_asynchronous_payout_settles_the_part_by_callback(wire, engine_setup, outcome, final):
    wire.set_faults(payout_outcome=outcome)
    pid = make_order(amount="1000.00")
    pay_by_wire(engine_setup, pid, "1000.00")
    data, code, _ = refund(pid, "1000.00", ro="RW-ASYNC", refund_type="FULL")
    assert code == 202 and data["status"] == "PROCESSING" and order(pid).refund_status == "REFUNDING"
    txn_id = data["parts"][0]["transactionId"]
    assert payout_of(txn_id).status == "PROCESSING"
    wait_until(lambda: refund_status("RW-ASYNC") == final, timeout=10)
    assert payout_of(txn_id).status == final and part(txn_id).status == final
    o = order(pid)
    assert o.refund_status == ("FULL_REFUNDED" if final == "SUCCESS" else "REFUND_FAILED")
    assert o.refunding_amount == 0
    if final == "FAILED":
        assert part(txn_id).failure_reason == "ACCOUNT_FROZEN"
        (ev,) = events("refund.failed")
        assert ev["reason"] == "ACCOUNT_FROZEN" and ev["orderRefundStatus"] == "REFUND_FAILED"
    check_invariants()


def test_failed_payout_is_retried_by_finance_as_a_new_payout(wire, engine_setup):
    wire.set_faults(payout_outcome="fail")
    pid = make_order(amount="800.00")
    pay_by_wire(engine_setup, pid, "800.00")
    data, _, _ = refund(pid, "500.00", ro="RW-RETRY")
    failed = part(data["parts"][0]["transactionId"])
    assert failed.status == "FAILED" and refund_status("RW-RETRY") == "FAILED"
    assert order(pid).refund_status == "REFUND_FAILED"
    wire.set_faults(payout_outcome="success")
    new = refund_retry.retry_part(FINANCE, failed.id)
    db.session.rollback()
    assert new.status == "SUCCESS" and new.remark == f"retry of {failed.transaction_id}"
    assert refund_status("RW-RETRY") == "SUCCESS" and order(pid).refund_status == "PARTIAL_REFUNDED"
    first, second = payout_of(failed.transaction_id), payout_of(new.transaction_id)
    assert (first.status, second.status) == ("FAILED", "SUCCESS")
    assert wire.stats()["payouts_by_merchant_payout_no"] == {first.order_no: 1, second.order_no: 1}
    check_invariants()


# --- unknown outcomes -------------------------------------------------------------------------------

@pytest.mark.parametrize("outcome", ["SUCCESS", "FAILED"])
def test_payout_never_answered_goes_manual_and_finance_settles_the_part(wire, engine_setup, outcome):
    wire.set_faults(payout_outcome="processing_forever")
    pid = make_order(amount="1000.00")
    pay_by_wire(engine_setup, pid, "1000.00")
    data, _, _ = refund(pid, "400.00", ro="RW-MANUAL")
    txn_id = data["parts"][0]["transactionId"]
    now = now_utc()
    for _ in range(payout_polling.MAX_POLL_ATTEMPTS):
        now += timedelta(hours=1)
        payout_polling.poll_due(now=now)
    d = payout_of(txn_id)
    assert d.status == "MANUAL" and part(txn_id).status == "PROCESSING" and order(pid).refund_status == "REFUNDING"
    if outcome == "SUCCESS":
        payout_manual.settle_manual(FINANCE, "finance", d.order_no, "SUCCESS", bank_serial_no="BS-STATEMENT-1")
    else:
        payout_manual.settle_manual(FINANCE, "finance", d.order_no, "FAILED", reason="returned by the bank")
    db.session.rollback()
    assert part(txn_id).status == outcome and refund_status("RW-MANUAL") == outcome
    assert order(pid).refund_status == ("PARTIAL_REFUNDED" if outcome == "SUCCESS" else "REFUND_FAILED")
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.target_id == txn_id)).all()
    assert [e.actor_id for e in entries if e.action.startswith("refund_part.")] == [FINANCE.id]
    db.session.rollback()
    assert wire.stats()["payouts_by_merchant_payout_no"] == {d.order_no: 1}
    check_invariants()


def test_payout_timeout_sends_no_second_payout_and_the_query_settles_the_part(app, wire, engine_setup):
    app.config["DISBURSE_BANK_TIMEOUT_SECONDS"] = 0.5
    wire.set_faults(payout_outcome="timeout", payout_timeout_sleep_ms=3000, drop_rate=1.0)
    pid = make_order(amount="1000.00")
    pay_by_wire(engine_setup, pid, "1000.00")
    data, code, _ = refund(pid, "250.00", ro="RW-TIMEOUT")
    txn_id = data["parts"][0]["transactionId"]
    d = payout_of(txn_id)
    assert code == 202 and d.status == "PROCESSING" and part(txn_id).status == "PROCESSING"
    later = now_utc() + timedelta(minutes=1)

    def settled():
        payout_polling.poll_due(now=later)
        return refund_status("RW-TIMEOUT") == "SUCCESS"

    wait_until(settled, timeout=10, interval=0.3)
    assert wire.stats()["payouts_by_merchant_payout_no"] == {d.order_no: 1}
    assert order(pid).refunded_amount == Decimal("250.00")
    check_invariants()


def test_forged_payout_callback_changes_neither_payout_nor_part(app, client, wire, engine_setup):
    wire.set_faults(payout_outcome="processing_forever")
    pid = make_order(amount="1000.00")
    pay_by_wire(engine_setup, pid, "1000.00")
    data, _, _ = refund(pid, "100.00", ro="RW-FORGE")
    txn_id = data["parts"][0]["transactionId"]
    d = payout_of(txn_id)

    def cb(secret, amount="100.00", status="SUCCESS"):
        raw = json.dumps({"eventId": "EV1", "type": "payout", "merchantNo": MERCHANT, "merchantPayoutNo": d.order_no,
                          "payoutId": "GP1", "amount": amount, "status": status, "bankSerialNo": "BS1",
                          "failReason": None, "completedAt": None}).encode()
        return client.post("/api/v1/disburse/callback", data=raw,
                           headers={"Content-Type": "application/json", signature.HEADER: signature.sign(secret, raw)})

    assert cb("forged").status_code == 400
    assert cb(CALLBACK_SECRET, amount="100.01").status_code == 400
    assert payout_of(txn_id).status == "PROCESSING" and part(txn_id).status == "PROCESSING"
    assert cb(CALLBACK_SECRET, status="FAILED").status_code == 200
    assert part(txn_id).status == "FAILED" and order(pid).refund_status == "REFUND_FAILED"
    assert cb(CALLBACK_SECRET, status="SUCCESS").status_code == 200  # late: changes nothing
    assert part(txn_id).status == "FAILED" and payout_of(txn_id).status == "FAILED"
    check_invariants()


def test_crash_before_the_bank_call_is_sent_by_the_poller(app, wire, engine_setup):
    """The refund and its INIT payout are committed together; the poller sends it later."""
    pid = make_order(amount="1000.00")
    pay_by_wire(engine_setup, pid, "1000.00")
    unreachable = "http://127.0.0.1:9"
    from app.models import Channel

    ch = db.session.scalar(sa.select(Channel).where(Channel.code == "ONLINE_UNIONPAY"))
    base = ch.config["base_url"]
    ch.config = {**ch.config, "base_url": unreachable}
    db.session.commit()
    data, _, _ = refund(pid, "100.00", ro="RW-CRASH")
    txn_id = data["parts"][0]["transactionId"]
    assert payout_of(txn_id).status == "PROCESSING" and wire.stats()["payouts"] == 0
    ch = db.session.scalar(sa.select(Channel).where(Channel.code == "ONLINE_UNIONPAY"))
    ch.config = {**ch.config, "base_url": base}
    db.session.commit()
    payout_polling.poll_due(now=now_utc() + timedelta(minutes=5))
    assert refund_status("RW-CRASH") == "SUCCESS" and wire.stats()["payouts"] == 1
    check_invariants()


# --- refusals: nothing is stored ------------------------------------------------------------------------

def _nothing_stored(pid):
    assert count(Refund) == 0 and count(Disbursement) == 0
    assert count(PaymentTransaction, PaymentTransaction.transaction_type == "REFUND") == 0
    assert count(OutboxEvent, OutboxEvent.event_type.like("refund.%")) == 0
    o = order(pid)
    assert (o.refunding_amount, o.refunded_amount, o.refund_status) == (0, 0, "NO_REFUND")


def test_reseller_without_refund_account_is_refused_with_409(app, client, wire, engine_setup, make_api_key):
    r = db.session.get(Reseller, engine_setup["R1001"])
    r.refund_account_no_enc = r.refund_account_name = r.refund_bank_code = None
    db.session.commit()
    pid = make_order(amount="1000.00")
    pay_by_wire(engine_setup, pid, "1000.00")
    key = make_api_key("refunds")
    resp = client.post("/api/v1/integration/payment/refund", headers={"Authorization": f"Bearer {key}"},
                       json={"refundOrderId": "RW-NOACC", "paymentId": pid, "refundAmount": "100.00",
                             "refundType": "PARTIAL", "strategy": "LATEST"})
    assert resp.status_code == 409, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "STATE_CONFLICT" and "no registered refund bank account" in body["message"]
    _nothing_stored(pid)
    assert wire.stats()["payouts"] == 0
    check_invariants()


@pytest.mark.parametrize("setup,match", [
    ("bank_code", "bank code HSBC"),
    ("single_limit", "above the single limit 50000.00"),
    ("merchant_inactive", "unknown or inactive merchant"),
    ("no_payout_channel", "payout channel NOPE is not configured"),
])
def test_unpayable_wire_refunds_are_refused_and_nothing_is_stored(app, wire, engine_setup, monkeypatch, setup,
                                                                 match):
    pid = make_order(amount="60000.00")
    pay_by_wire(engine_setup, pid, "60000.00")
    amount = "100.00"
    if setup == "bank_code":
        db.session.get(Reseller, engine_setup["R1001"]).refund_bank_code = "HSBC"
    elif setup == "single_limit":
        amount = "50000.01"
    elif setup == "merchant_inactive":
        db.session.execute(sa.update(Merchant).values(active=False))
    else:
        monkeypatch.setitem(app.config, "DISBURSE_CHANNEL_CODE", "NOPE")
    db.session.commit()
    with pytest.raises(StateConflict, match=match):
        refund(pid, amount)
    _nothing_stored(pid)
    assert wire.stats()["payouts"] == 0
    check_invariants()


def test_daily_limit_counts_refund_payouts(wire, engine_setup):
    pid = make_order(amount="100000.01")
    pay_by_wire(engine_setup, pid, "100000.01")
    for _ in range(2):
        data, _, _ = refund(pid, "50000.00")
        assert data["status"] == "SUCCESS"
    with pytest.raises(StateConflict, match="daily limit 100000.00"):
        refund(pid, "0.01")
    assert count(Disbursement) == 2
    check_invariants()


# --- every channel, every strategy ----------------------------------------------------------------------

def _four_channels(wire, engine_setup):
    """An order of 4000.00 paid 1000.00 on each of ONLINE, WALLET, CREDIT and WIRE, in that order (the
    gateway's paidAt has whole seconds, so ONLINE goes first to keep LATEST's order certain)."""
    wire.set_faults(refund_delay_ms=50, refund_outcome="SUCCESS", payout_outcome="async_success")
    pid = make_order(amount="4000.00")
    pay_online(wire, engine_setup, pid, "1000.00")
    pay(engine_setup, pid, ("1000.00", "WALLET"), ("1000.00", "CREDIT"))
    pay_by_wire(engine_setup, pid, "1000.00")
    return pid


def _payments(pid):
    o = order(pid)
    rows = {t.channel_kind: t.transaction_id for t in db.session.scalars(sa.select(PaymentTransaction).where(
        PaymentTransaction.payment_order_id == o.id, PaymentTransaction.transaction_type == "PAYMENT",
        PaymentTransaction.status == "SUCCESS"))}
    db.session.rollback()
    return rows


def _by_channel(data):
    return {p["paymentChannel"]: p["transactionAmount"] for p in data["parts"]}


def test_every_strategy_over_every_channel(wire, engine_setup):
    pid = _four_channels(wire, engine_setup)
    txns = _payments(pid)
    # PROPORTIONAL: 1000.00 over four equal payments.
    data, code, _ = refund(pid, "1000.00", ro="RW-P", strategy="PROPORTIONAL")
    assert code == 202 and _by_channel(data) == {"WALLET": "-250.00", "CREDIT": "-250.00",
                                                 "ONLINE_UNIONPAY": "-250.00", "WIRE_ICBC": "-250.00"}
    # LATEST: newest first (WIRE has 750.00 left), spilling into the next newest, CREDIT.
    data, _, _ = refund(pid, "800.00", ro="RW-L")
    assert _by_channel(data) == {"WIRE_ICBC": "-750.00", "CREDIT": "-50.00"}
    # SPECIFIED on each channel.
    for kind, ro in (("WALLET", "RW-S1"), ("CREDIT", "RW-S2"), ("ONLINE", "RW-S3")):
        data, _, _ = refund(pid, "100.00", ro=ro, strategy="SPECIFIED", transaction_id=txns[kind])
        assert [p["originalTransactionId"] for p in data["parts"]] == [txns[kind]]
    for ro in ("RW-P", "RW-L", "RW-S1", "RW-S2", "RW-S3"):
        wait_until(lambda ro=ro: refund_status(ro) == "SUCCESS", timeout=10)
    o = order(pid)
    assert (o.refunded_amount, o.refunding_amount) == (Decimal("2100.00"), 0)
    with pytest.raises(StateConflict, match="refundable amount 0.00 of transaction"):
        refund(pid, "0.01", strategy="SPECIFIED", transaction_id=txns["WIRE"])
    # FULL refunds what is left, on every channel that has something left.
    data, _, _ = refund(pid, "1900.00", ro="RW-F", refund_type="FULL", strategy="PROPORTIONAL")
    assert set(_by_channel(data)) == {"WALLET", "CREDIT", "ONLINE_UNIONPAY"}
    wait_until(lambda: refund_status("RW-F") == "SUCCESS", timeout=10)
    assert order(pid).refund_status == "FULL_REFUNDED"
    succeeded = events("refund.succeeded")
    channels = {e["channelInfo"]["channel"] for e in succeeded}
    assert channels == {"WALLET", "CREDIT", "ONLINE_UNIONPAY", "WIRE_ICBC"}
    assert len(succeeded) == count(PaymentTransaction, PaymentTransaction.transaction_type == "REFUND")
    check_invariants()


# --- concurrency ---------------------------------------------------------------------------------------

def test_concurrent_wire_refunds_never_pay_out_more_than_paid(app, wire, engine_setup):
    pid = make_order(amount="1000.00")
    pay_by_wire(engine_setup, pid, "1000.00")
    results = race_refunds(app, [RefundInstruction(f"RW-C{i:02d}", pid, Decimal("150.00")) for i in range(20)])
    assert results.count(202) == 6 and results.count("StateConflict") == 14, results
    o = order(pid)
    assert o.refunded_amount == Decimal("900.00") and o.refunding_amount == 0
    paid_out = wire.stats()["payouts_by_merchant_payout_no"]
    assert len(paid_out) == 6 and set(paid_out.values()) == {1}
    assert count(Disbursement) == 6
    check_invariants()


def test_concurrent_replays_of_a_wire_refund_make_one_payout(app, wire, engine_setup):
    wire.set_faults(payout_outcome="async_success", payout_delay_ms=500)
    pid = make_order(amount="1000.00")
    pay_by_wire(engine_setup, pid, "1000.00")
    results = race_refunds(app, [RefundInstruction("RW-ONE", pid, Decimal("400.00"))] * 20)
    assert results.count(202) == 1 and results.count("duplicate") == 19, results
    wait_until(lambda: refund_status("RW-ONE") == "SUCCESS", timeout=10)
    assert count(Disbursement) == 1 and wire.stats()["payouts"] == 1
    assert order(pid).refunded_amount == Decimal("400.00")
    check_invariants()
