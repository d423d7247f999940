"""Every outbox event's payload matches the state its transaction committed (issue: transaction.succeeded
once went out before the order's status was recomputed and showed "PAYING" for a paid order).

Each step below is one service call (one commit); right after it, every event that step wrote is
compared field by field with the database: the order's status and amounts, the transaction's status,
the merged payment's, the refund's, the wallet's balance, the credit record's outstanding amount.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    ChannelPayment,
    CreditRecord,
    MergedPayment,
    OutboxEvent,
    PaymentOrder,
    PaymentTransaction,
    Refund,
    Reseller,
)
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.orders.update import OrderChanges, update_payment_order
from app.services.refunds import creation as refunds
from app.services.refunds.instruction import RefundInstruction
from app.services.settlement import channel_result as settlement
from app.services.vouchers import review as voucher_review
from app.services.vouchers import upload as voucher_upload
from tests.support.engine import FINANCE, OPERATOR, make_order
from tests.support.files import minimal_pdf

ORDER_AMOUNTS = {"paymentAmount": "payment_amount", "paidAmount": "paid_amount",
                 "remainingAmount": "remaining_amount", "reservedAmount": "reserved_amount",
                 "refundedAmount": "refunded_amount", "payableAmount": "payable_amount"}
TRANSACTION_EVENTS = {"transaction.succeeded": "SUCCESS", "transaction.failed": "FAILED"}


def _money(value) -> str:
    return f"{Decimal(value):.2f}"


def _check_order_fields(payload: dict, where: str) -> None:
    o = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == payload["paymentId"]))
    if "paymentStatus" in payload:
        assert payload["paymentStatus"] == o.payment_status, where
    if "refundStatus" in payload:
        assert payload["refundStatus"] == o.refund_status, where
    for key, attr in ORDER_AMOUNTS.items():
        if key in payload:
            assert payload[key] == _money(getattr(o, attr)), (where, key)


def _check(event: OutboxEvent) -> str:
    """Compare one event with the database; returns its kind (so the test can see what it covered)."""
    p, kind = event.payload, event.event_type
    where = f"{kind} {event.aggregate_id}"
    if "paymentId" in p and kind.startswith(("payment_order.", "transaction.")):
        _check_order_fields(p, where)
    if kind in TRANSACTION_EVENTS:
        t = db.session.scalar(sa.select(PaymentTransaction).where(
            PaymentTransaction.transaction_id == p["transactionId"]))
        assert t.status == TRANSACTION_EVENTS[kind], where
    elif kind == "merged_payment.completed":
        mp = db.session.scalar(sa.select(MergedPayment).where(MergedPayment.merged_payment_id == p["mergedPaymentId"]))
        assert p["status"] == mp.status and p["totalAmount"] == _money(mp.total_amount), where
    elif kind.startswith("refund."):
        refund = db.session.scalar(sa.select(Refund).where(Refund.refund_order_id == p["refundOrderId"]))
        assert p["refundStatus"] == refund.status, where
        _check_order_fields({"paymentId": p["paymentId"], "refundStatus": p["orderRefundStatus"],
                             "paidAmount": p["paidAmount"], "refundedAmount": p["refundedAmount"]}, where)
    elif kind == "credit_repayment.completed":
        rec = db.session.scalar(sa.select(CreditRecord).where(CreditRecord.credit_record_id == p["creditRecordId"]))
        assert p["outstandingAmount"] == _money(rec.outstanding_amount) and p["status"] == rec.status, where
    elif kind == "wallet.changed":
        balance = db.session.scalar(sa.select(Reseller.wallet_balance).where(Reseller.id == int(event.aggregate_id)))
        assert p["balance"] == _money(balance), where
    return kind


@pytest.fixture
def events_since():
    """check() compares every event written since the previous check() with the database now."""
    state = {"last": 0}

    def check() -> list[str]:
        db.session.expire_all()
        new = db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.id > state["last"])
                                 .order_by(OutboxEvent.id)).all()
        kinds = [_check(e) for e in new]
        if new:
            state["last"] = new[-1].id
        db.session.rollback()
        return kinds

    return check


def test_every_event_shows_the_committed_state(engine_setup, app, tmp_path, events_since):
    r1, users = engine_setup["R1001"], engine_setup["users"]
    seen: list[str] = []
    a, b, c, d = (make_order(amount=x) for x in ("100.00", "300.00", "700.00", "1000.00"))
    seen += events_since()

    # WALLET and CREDIT settle at once, in the checkout's transaction.
    checkout.submit(OPERATOR, None, r1, [AllocationIn(a, "100.00", "WALLET"), AllocationIn(b, "120.00", "CREDIT")])
    seen += events_since()

    # WIRE: a shortfall accepted (earliest deadline first), then the rest paid by a second wire with excess.
    res = checkout.submit(OPERATOR, None, r1, [AllocationIn(c, "700.00", "WIRE_ICBC"),
                                               AllocationIn(d, "300.00", "WIRE_ICBC")])
    seen += events_since()
    cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))
    db.session.rollback()
    v = voucher_upload.upload(OPERATOR, users["op1"], r1, cp.channel_payment_id, "slip.pdf", minimal_pdf())
    seen += events_since()
    voucher_review.confirm(FINANCE, "finance", users["fin"], v.id, "800.00", "accept")
    seen += events_since()
    res2 = checkout.submit(OPERATOR, None, r1, [AllocationIn(d, "200.00", "WIRE_ICBC")])
    seen += events_since()
    cp2 = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res2.merged_pk))
    db.session.rollback()
    v2 = voucher_upload.upload(OPERATOR, users["op1"], r1, cp2.channel_payment_id, "slip.pdf", minimal_pdf())
    seen += events_since()
    voucher_review.confirm(FINANCE, "finance", users["fin"], v2.id, "250.00")
    seen += events_since()

    # A refund on the wallet payment, a failed (expired) channel payment, and an update by the order system.
    refunds.create_refund(OPERATOR, RefundInstruction(refund_order_id="RO-1", payment_id=a,
                                                       amount=Decimal("40.00")))
    seen += events_since()
    e = make_order(amount="50.00")
    seen += events_since()
    res3 = checkout.submit(OPERATOR, None, r1, [AllocationIn(e, "50.00", "WIRE_ICBC")])
    seen += events_since()
    cp3 = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res3.merged_pk))
    db.session.rollback()
    settlement.settle(cp3.id, settlement.Outcome(status="EXPIRED", reason="expired"), OPERATOR)
    seen += events_since()
    update_payment_order(OPERATOR, e, OrderChanges(payment_amount=Decimal("60.00"),
                                                   present=frozenset({"paymentAmount"})))
    seen += events_since()

    assert {"payment_order.created", "payment_order.status_changed", "payment_order.updated",
            "transaction.succeeded", "transaction.failed", "merged_payment.completed", "refund.created",
            "refund.succeeded", "credit_repayment.completed"} - set(seen) == {"credit_repayment.completed"}


def test_a_stale_payload_is_caught(engine_setup, events_since):
    """The checker itself: an event whose payload shows an older status than the database fails it."""
    a = make_order(amount="100.00")
    events_since()
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(a, "100.00", "WALLET")])
    event = db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == "transaction.succeeded")).one()
    stale = OutboxEvent(event_type=event.event_type, aggregate_type=event.aggregate_type,
                        aggregate_id=event.aggregate_id, event_id="evt_stale",
                        payload={**event.payload, "paymentStatus": "PAYING"}, status="PENDING",
                        created_at=event.created_at)
    with pytest.raises(AssertionError):
        _check(stale)
    db.session.rollback()
