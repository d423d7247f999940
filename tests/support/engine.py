"""Helpers of the payment engine tests: the actors, orders made through the service, reading an order
outside any transaction, and the invariant checker (docs/DOMAIN.md §3) run after each scenario."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.domain.order_status import derive_refund_status
from app.extensions import db
from app.models import (
    ChannelPayment,
    CreditEntry,
    CreditRecord,
    Disbursement,
    MergedPayment,
    OutboxEvent,
    PaymentOrder,
    PaymentTransaction,
    Refund,
    Reseller,
    WalletEntry,
)
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.dashboards import overdue
from app.services.ledgers import money_flows
from app.services.platform.actor import Actor

from .factories import create_order

OPERATOR = Actor(type="user", id="operator@r1001.example")
FINANCE = Actor(type="user", id="finance@example.com")

_counter = {"n": 0}


def make_order(reseller="R1001", amount="1000.00", payment_type="ADVANCE_PAYMENT", deadline=None, **kw) -> str:
    """An order SO000001, SO000002, ... created through the service; returns its payment id."""
    _counter["n"] += 1
    return create_order(f"SO{_counter['n']:06d}", reseller, amount, payment_type, deadline, **kw)


def detached(obj):
    """A loaded copy that needs no open transaction: on SQLite every transaction holds the write
    lock, so a test that keeps one open while polling would block the portal it is waiting for."""
    if obj is not None:
        db.session.expunge(obj)
    db.session.rollback()
    return obj


def order(payment_id: str) -> PaymentOrder:
    db.session.expire_all()
    return detached(db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == payment_id)))


def check_invariants(refund_events: bool = True) -> None:
    """docs/DOMAIN.md §3 and the ledgers, over the whole database. ``refund_events=False`` leaves out
    the check that each final refund part has its event (the demo seed's refunds are made without)."""
    db.session.expire_all()
    zero = Decimal("0.00")
    for o in db.session.scalars(sa.select(PaymentOrder)):
        txns = db.session.scalars(sa.select(PaymentTransaction).where(
            PaymentTransaction.payment_order_id == o.id)).all()
        paid = sum((t.amount for t in txns if t.transaction_type == "PAYMENT" and t.status == "SUCCESS"), zero)
        refunded = -sum((t.amount for t in txns if t.transaction_type == "REFUND" and t.status == "SUCCESS"), zero)
        reserved = sum((t.amount for t in txns if t.transaction_type == "PAYMENT" and t.status == "PROCESSING"),
                       zero)
        assert o.paid_amount == paid, (o.payment_id, o.paid_amount, paid)
        assert o.refunded_amount == refunded, o.payment_id
        assert o.reserved_amount == reserved, (o.payment_id, o.reserved_amount, reserved)
        refunding = -sum((t.amount for t in txns if t.transaction_type == "REFUND" and t.status == "PROCESSING"),
                         zero)
        assert o.refunding_amount == refunding, (o.payment_id, o.refunding_amount, refunding)
        assert o.refunded_amount + o.refunding_amount <= o.paid_amount
        for p in txns:
            if p.transaction_type != "PAYMENT":
                continue
            children = [t for t in txns if t.transaction_type == "REFUND" and t.original_transaction_id == p.id]
            done = -sum((t.amount for t in children if t.status == "SUCCESS"), zero)
            flight = -sum((t.amount for t in children if t.status == "PROCESSING"), zero)
            assert (p.refunded_amount, p.refunding_amount) == (done, flight), (p.transaction_id, done, flight)
            assert p.refunded_amount + p.refunding_amount <= p.amount
        assert zero <= o.refunded_amount <= o.paid_amount <= o.payment_amount
        assert o.reserved_amount + o.paid_amount <= o.payment_amount
        assert o.refund_status == derive_refund_status(
            paid=o.paid_amount, refunded=o.refunded_amount, refunding=o.refunding_amount,
            last_refund_failed=o.last_refund_failed).value, (o.payment_id, o.refund_status)
    _check_refunds(refund_events)
    for mp in db.session.scalars(sa.select(MergedPayment)):
        cps = db.session.scalars(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == mp.id)).all()
        allocations = db.session.scalars(sa.select(PaymentTransaction).where(
            PaymentTransaction.merged_payment_id == mp.id, PaymentTransaction.transaction_type == "PAYMENT")).all()
        assert mp.total_amount == sum((cp.amount for cp in cps), zero) == sum((t.amount for t in allocations), zero)
        for cp in cps:
            assert cp.amount == sum((t.amount for t in allocations if t.channel_payment_id == cp.id), zero)
    for r in db.session.scalars(sa.select(Reseller)):
        entries = db.session.scalars(sa.select(WalletEntry).where(WalletEntry.reseller_id == r.id)
                                     .order_by(WalletEntry.id)).all()
        assert r.wallet_balance == sum((e.amount for e in entries), zero) >= zero
        if entries:
            assert entries[-1].balance_after == r.wallet_balance
        assert all(e.balance_after >= 0 for e in entries)
        used = sum((e.amount for e in db.session.scalars(sa.select(CreditEntry).where(
            CreditEntry.reseller_id == r.id))), zero)
        outstanding = sum((c.outstanding_amount for c in db.session.scalars(sa.select(CreditRecord).where(
            CreditRecord.reseller_id == r.id))), zero)
        assert r.credit_used == used == outstanding, (r.code, r.credit_used, used, outstanding)
    db.session.rollback()


def check_stored_figures() -> None:
    """The finance desk's stored aggregates equal a recomputation: the day rows settlement keeps
    (``money_flow_days``) and the open orders per deadline day the triggers keep (``open_order_days``)."""
    db.session.expire_all()
    assert money_flows.differences() == []
    assert overdue.differences() == []
    db.session.rollback()


FINAL_EVENT = {"SUCCESS": "refund.succeeded", "FAILED": "refund.failed"}
PAYOUT_OF_PART = {"SUCCESS": {"SUCCESS"}, "FAILED": {"FAILED"}, "PROCESSING": {"INIT", "PROCESSING", "MANUAL"}}


def _check_refunds(events: bool = True) -> None:
    """Each REFUND part: negative, on its original SUCCESS payment's order and channel, keyed by its
    refund; a WIRE part has exactly one payout, in the matching state, and other parts none; a final
    part has exactly one refund.succeeded|failed event, a PROCESSING one none. Each refund: its parts
    (before any retry) sum to its amount, at most its amount succeeds or is in flight, and its status
    follows its parts."""
    zero = Decimal("0.00")
    parts = db.session.scalars(sa.select(PaymentTransaction).where(
        PaymentTransaction.transaction_type == "REFUND")).all()
    if not parts and not db.session.scalar(sa.select(sa.func.count()).select_from(Disbursement).where(
            Disbursement.refund_transaction_id.is_not(None))):
        return
    originals = {t.id: t for t in db.session.scalars(sa.select(PaymentTransaction).where(
        PaymentTransaction.id.in_({p.original_transaction_id for p in parts})))}
    refunds = {r.id: r for r in db.session.scalars(sa.select(Refund))}
    payouts: dict[int, list[Disbursement]] = {}
    for d in db.session.scalars(sa.select(Disbursement).where(Disbursement.refund_transaction_id.is_not(None))):
        payouts.setdefault(d.refund_transaction_id, []).append(d)
    sent: dict[str, list[str]] = {}
    for event_type, payload in db.session.execute(sa.select(OutboxEvent.event_type, OutboxEvent.payload).where(
            OutboxEvent.event_type.in_(FINAL_EVENT.values()))):
        sent.setdefault(payload["transactionId"], []).append(event_type)
    by_refund: dict[int, list[PaymentTransaction]] = {r: [] for r in refunds}
    for t in parts:
        orig, refund = originals.get(t.original_transaction_id), refunds[t.refund_id]
        by_refund[t.refund_id].append(t)
        assert t.amount < 0 and orig is not None, t.transaction_id
        assert (orig.transaction_type, orig.status, orig.payment_order_id) == ("PAYMENT", "SUCCESS",
                                                                               t.payment_order_id), t.transaction_id
        assert (t.channel_code, t.channel_kind) == (orig.channel_code, orig.channel_kind), t.transaction_id
        assert refund.payment_order_id == t.payment_order_id and t.business_order_id == refund.refund_order_id
        mine = payouts.pop(t.id, [])
        if t.channel_kind == "WIRE":
            assert len(mine) == 1, (t.transaction_id, len(mine))
            d = mine[0]
            assert d.status in PAYOUT_OF_PART[t.status], (t.transaction_id, t.status, d.status)
            assert (d.amount, d.source, t.channel_transaction_id) == (-t.amount, "REFUND", d.order_no)
        else:
            assert mine == [], t.transaction_id
        expected = [FINAL_EVENT[t.status]] if t.status in FINAL_EVENT else []
        assert not events or sent.get(t.transaction_id, []) == expected, (t.transaction_id, sent.get(t.transaction_id))
    assert payouts == {}  # no payout pays a part that does not exist
    for refund in refunds.values():
        mine = by_refund[refund.id]
        first = [p for p in mine if not (p.remark or "").startswith("retry of ")]
        assert -sum((p.amount for p in first), zero) == refund.amount, refund.refund_order_id
        succeeded = -sum((p.amount for p in mine if p.status == "SUCCESS"), zero)
        flight = -sum((p.amount for p in mine if p.status == "PROCESSING"), zero)
        assert succeeded + flight <= refund.amount, refund.refund_order_id
        if flight:
            expected_status = "PROCESSING"
        elif succeeded == refund.amount:
            expected_status = "SUCCESS"
        else:
            expected_status = "FAILED" if succeeded == 0 else "PARTIALLY_FAILED"
        assert refund.status == expected_status, (refund.refund_order_id, refund.status, expected_status)
        assert (refund.completed_at is None) == (expected_status == "PROCESSING"), refund.refund_order_id


def checkout_online(engine_setup, amounts=("300.00", "700.00")):
    """One ONLINE_UNIONPAY checkout of new orders of those amounts: (payment ids, result, channel payment)."""
    pids = [make_order(amount=a) for a in amounts]
    res = checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(p, a, "ONLINE_UNIONPAY")
                                                                  for p, a in zip(pids, amounts, strict=True)])
    db.session.expire_all()
    cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))
    return pids, res, detached(cp)
