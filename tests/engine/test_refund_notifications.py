"""Refund notifications (docs/DOMAIN.md §7, issue 5 item 4): ``refund.succeeded|failed`` for a part on every
channel, delivered through the outbox to the order system's and the finance system's webhook
endpoints, and ``credit_repayment.*`` where a refund touches credit: a CREDIT part reduces the
credit record (completed), a refunded CREDIT_REPAYMENT order brings the debt back (failed)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CreditEntry, CreditRecord, Reseller
from app.services.accounts import api_clients
from app.services.orders.creation import NewPaymentOrder, create_payment_order
from app.services.platform.actor import Actor
from app.services.webhooks import delivery as webhooks
from app.services.webhooks import endpoints as webhook_endpoints
from sandbox.testing import CallbackReceiver, wait_until
from tests.support.engine import check_invariants, make_order, order
from tests.support.refunds import count, events, pay, pay_by_wire, pay_online, refund, refund_status

ADMIN = Actor(type="user", id="admin@example.com")
PART_FIELDS = {"refundId", "refundOrderId", "paymentId", "orderId", "resellerId", "refundAmount", "refundStatus",
               "orderRefundStatus", "paidAmount", "refundedAmount", "completedAt", "transactionId",
               "transactionAmount", "channelInfo", "reason"}


@pytest.fixture(autouse=True)
def receivers_allowed(app, monkeypatch):
    """The receivers listen on 127.0.0.1, a host the deployment allows (WEBHOOK_ALLOWED_HOSTS)."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")


def _endpoint(name, scopes, url, types):
    client, _ = api_clients.create_client(ADMIN, name, api_clients.parse_scopes(scopes))
    webhook_endpoints.register_endpoint(ADMIN, client.id, url, types)


def _deliver():
    webhooks.fan_out()
    while webhooks.deliver_due()["claimed"]:
        pass


def test_refund_events_for_every_channel_reach_the_order_and_finance_systems(wire, engine_setup):
    wire.set_faults(refund_delay_ms=50, refund_outcome="SUCCESS", payout_outcome="async_success")
    pid = make_order(amount="4000.00")
    pay_online(wire, engine_setup, pid, "1000.00")
    pay(engine_setup, pid, ("1000.00", "WALLET"), ("1000.00", "CREDIT"))
    pay_by_wire(engine_setup, pid, "1000.00")
    refund(pid, "400.00", ro="RN-OK", strategy="PROPORTIONAL")
    wait_until(lambda: refund_status("RN-OK") == "SUCCESS", timeout=10)
    wire.set_faults(refund_outcome="FAILED", payout_outcome="async_fail")
    refund(pid, "400.00", ro="RN-KO", strategy="PROPORTIONAL")
    wait_until(lambda: refund_status("RN-KO") == "PARTIALLY_FAILED", timeout=10)

    succeeded, failed = events("refund.succeeded"), events("refund.failed")
    assert sorted((e["refundOrderId"], e["channelInfo"]["channel"]) for e in succeeded) == [
        ("RN-KO", "CREDIT"), ("RN-KO", "WALLET"),
        ("RN-OK", "CREDIT"), ("RN-OK", "ONLINE_UNIONPAY"), ("RN-OK", "WALLET"), ("RN-OK", "WIRE_ICBC")]
    assert sorted((e["refundOrderId"], e["channelInfo"]["channel"]) for e in failed) == [
        ("RN-KO", "ONLINE_UNIONPAY"), ("RN-KO", "WIRE_ICBC")]
    for e in succeeded + failed:
        assert PART_FIELDS <= set(e) and e["transactionAmount"] == "100.00" and e["channelInfo"]["channelTransactionId"]
        assert e["paymentId"] == pid and e["resellerId"] == "R1001"
    assert all(e["reason"] for e in failed) and not any(e["reason"] for e in succeeded)
    assert failed[-1]["orderRefundStatus"] == "REFUND_FAILED" and failed[-1]["refundStatus"] == "PARTIALLY_FAILED"
    credit = events("credit_repayment.completed")
    assert [(e["source"], e["refundOrderId"], e["repaidAmount"]) for e in credit] == [
        ("refund", "RN-OK", "100.00"), ("refund", "RN-KO", "100.00")]
    assert credit[-1]["outstandingAmount"] == "800.00"

    with CallbackReceiver() as rx:
        _endpoint("order-system", "payments,refunds", rx.url("/order-system"), "refund.*")
        _endpoint("finance-system", "finance", rx.url("/finance-system"), "refund.*,credit_repayment.*")
        _endpoint("credit-system", "credit", rx.url("/credit-system"), "credit_repayment.*")
        _deliver()
        received = rx.wait_for(10 + 12 + 2)
    by_path: dict[str, list[str]] = {}
    for r in received:
        body = json.loads(r.body)
        by_path.setdefault(r.path, []).append(body["type"])
        assert r.headers["webhook-id"] and r.headers["webhook-signature"].startswith("v1,")
    refund_types = ["refund.created"] * 2 + ["refund.failed"] * 2 + ["refund.succeeded"] * 6
    assert sorted(by_path["/order-system"]) == refund_types
    assert sorted(by_path["/finance-system"]) == ["credit_repayment.completed"] * 2 + refund_types
    assert by_path["/credit-system"] == ["credit_repayment.completed"] * 2
    check_invariants()


def test_credit_part_of_a_repaid_record_goes_to_the_wallet_without_a_credit_event(engine_setup):
    from app.services.ledgers import credit_line

    pid = make_order(amount="500.00")
    pay(engine_setup, pid, ("500.00", "CREDIT"))
    rec_id = db.session.scalar(sa.select(CreditRecord.credit_record_id))
    credit_line.repay(rec_id, Decimal("500.00"), reference="bank", actor="test")
    db.session.commit()
    before = len(events("credit_repayment.completed"))
    data, _, _ = refund(pid, "200.00")
    assert data["status"] == "SUCCESS"
    assert len(events("credit_repayment.completed")) == before  # the record did not change
    (ev,) = events("refund.succeeded")
    assert ev["channelInfo"] == {"channel": "CREDIT", "channelTransactionId": rec_id}
    check_invariants()


def _repayment_order(engine_setup, rec: CreditRecord, amount: str) -> str:
    outcome = create_payment_order(
        Actor(type="api_client", id="credit-system", client_id=None),
        NewPaymentOrder(order_id=rec.order_id, reseller_code="R1001", payment_type="CREDIT_REPAYMENT",
                        payment_amount=Decimal(amount), credit_record_id=rec.credit_record_id),
        idempotency_key=None, fingerprint="x")
    pid = outcome.order.payment_id
    db.session.commit()
    return pid


def _record() -> CreditRecord:
    db.session.expire_all()
    rec = db.session.scalar(sa.select(CreditRecord))
    db.session.expunge(rec)
    db.session.rollback()
    return rec


def _credit_used(engine_setup) -> Decimal:
    db.session.expire_all()
    used = db.session.get(Reseller, engine_setup["R1001"]).credit_used
    db.session.rollback()
    return used


def test_refunded_repayment_brings_the_debt_back_and_tells_the_credit_system(wire, engine_setup):
    wire.set_faults(payout_outcome="async_success")
    credit_order = make_order(amount="1000.00")
    pay(engine_setup, credit_order, ("1000.00", "CREDIT"))
    rec = _record()
    repayment = _repayment_order(engine_setup, rec, "1000.00")
    pay(engine_setup, repayment, ("600.00", "WALLET"))
    pay_by_wire(engine_setup, repayment, "400.00")
    rec = _record()
    assert (rec.outstanding_amount, rec.status) == (0, "REPAID") and _credit_used(engine_setup) == 0
    assert len(events("credit_repayment.completed")) == 2

    data, code, _ = refund(repayment, "700.00", ro="RN-REPAY")  # LATEST: 400.00 by payout, 300.00 to the wallet
    assert code == 202
    rec = _record()
    assert rec.outstanding_amount == Decimal("300.00") and rec.status == "OPEN"  # the wallet part, at once
    wait_until(lambda: refund_status("RN-REPAY") == "SUCCESS", timeout=10)
    rec = _record()
    assert rec.outstanding_amount == Decimal("700.00") and _credit_used(engine_setup) == Decimal("700.00")
    failed = events("credit_repayment.failed")
    assert [(e["reason"], e["reversedAmount"], e["outstandingAmount"], e["status"]) for e in failed] == [
        ("refunded", "300.00", "300.00", "OPEN"), ("refunded", "400.00", "700.00", "OPEN")]
    assert {e["creditRecordId"] for e in failed} == {rec.credit_record_id}
    assert all(e["refundOrderId"] == "RN-REPAY" and e["paymentId"] == repayment for e in failed)
    o = order(repayment)
    assert (o.refunded_amount, o.refund_status) == (Decimal("700.00"), "PARTIAL_REFUNDED")
    assert count(CreditEntry, CreditEntry.entry_type == "REPAY_REVERSED") == 2
    # The rest of the repayment can be refunded too, never reopening more than it repaid.
    refund(repayment, "300.00", ro="RN-REPAY-2", refund_type="FULL")
    assert _record().outstanding_amount == Decimal("1000.00")
    assert count(CreditEntry, CreditEntry.entry_type == "REPAY_REVERSED") == 3
    assert events("alert.raised") == []
    check_invariants()


def test_refund_of_repayment_excess_reopens_only_what_was_repaid(engine_setup):
    """A repayment paid while the record was reduced by a credit refund: its excess went to the
    wallet; refunding the repayment reopens only what it repaid and raises an alert for the rest."""
    credit_order = make_order(amount="1000.00")
    pay(engine_setup, credit_order, ("1000.00", "CREDIT"))
    rec = _record()
    repayment = _repayment_order(engine_setup, rec, "1000.00")
    refund(credit_order, "400.00")  # the record: 600.00 outstanding
    pay(engine_setup, repayment, ("1000.00", "WALLET"))  # repays 600.00, 400.00 excess to the wallet
    rec = _record()
    assert rec.outstanding_amount == 0
    refund(repayment, "1000.00", refund_type="FULL")
    rec = _record()
    assert rec.outstanding_amount == Decimal("600.00") and rec.status == "OPEN"
    (ev,) = events("credit_repayment.failed")
    assert ev["reversedAmount"] == "600.00"
    (alert,) = events("alert.raised")
    assert alert["kind"] == "refunded_repayment_excess" and alert["details"]["notReopened"] == "400.00"
    check_invariants()
