"""Helpers of the payment engine tests: the actors, orders made through the service, reading an order
outside any transaction, and the invariant checker (docs/DOMAIN.md §3) run after each scenario."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    ChannelPayment,
    PaymentOrder,
)
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.dashboards import overdue
from app.services.ledgers import money_flows
from app.services.platform.actor import Actor
from tests.support import invariants

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
    """docs/DOMAIN.md §3 and the ledgers, over the whole database (tests/support/invariants.py).
    ``refund_events=False`` leaves out the check that each final refund part has its event (the demo
    seed's refunds are made without)."""
    found = invariants.violations(refund_events)
    assert found == [], "\n".join(found[:50])


def check_stored_figures() -> None:
    """The finance desk's stored aggregates equal a recomputation: the day rows settlement keeps
    (``money_flow_days``) and the open orders per deadline day the triggers keep (``open_order_days``)."""
    db.session.expire_all()
    assert money_flows.differences() == []
    assert overdue.differences() == []
    db.session.rollback()


def checkout_online(engine_setup, amounts=("300.00", "700.00")):
    """One ONLINE_UNIONPAY checkout of new orders of those amounts: (payment ids, result, channel payment)."""
    pids = [make_order(amount=a) for a in amounts]
    res = checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(p, a, "ONLINE_UNIONPAY")
                                                                  for p, a in zip(pids, amounts, strict=True)])
    db.session.expire_all()
    cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))
    return pids, res, detached(cp)
