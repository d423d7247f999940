"""Refund test helpers: paying an order by wire (voucher confirmed by finance) or online (the sandbox's
pay page), making refunds (one at a time or raced) and reading their parts and events. The payout
merchant and the reseller's refund account (``ACCOUNT``) are the ``wire`` fixture of
tests/engine/conftest.py."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import sqlalchemy as sa

from app.domain.errors import DomainError
from app.extensions import db
from app.models import ChannelPayment, OutboxEvent, PaymentTransaction, Refund
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.platform.actor import Actor
from app.services.refunds import view as refund_view
from app.services.refunds.creation import create_refund
from app.services.refunds.instruction import RefundInstruction
from app.services.vouchers import review as voucher_review
from app.services.vouchers import upload as voucher_upload
from sandbox.testing import wait_until

from .concurrency import race
from .engine import FINANCE, OPERATOR, detached, order
from .files import minimal_pdf

ORDER_SYSTEM = Actor(type="api_client", id="order-system", client_id=None)
ACCOUNT = "6222021234567890123"
_n = {"n": 0}


def pay(engine_setup, pid, *rows):
    """(amount, channel) rows, one checkout each; for WALLET and CREDIT, which settle at once."""
    for a, c in rows:
        checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, a, c)])
        db.session.remove()


def pay_by_wire(engine_setup, pid, amount):
    """Checkout on WIRE_ICBC, voucher uploaded, finance confirms the amount received."""
    res = checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, amount, "WIRE_ICBC")])
    db.session.remove()
    number = db.session.scalar(sa.select(ChannelPayment.channel_payment_id).where(
        ChannelPayment.merged_payment_id == res.merged_pk))
    db.session.rollback()
    users = engine_setup["users"]
    v = voucher_upload.upload(OPERATOR, users["op1"], engine_setup["R1001"], number, "slip.pdf", minimal_pdf())
    voucher_review.confirm(FINANCE, "finance", users["fin"], v.id, amount)
    db.session.remove()


def pay_online(gw, engine_setup, pid, amount):
    """Checkout on ONLINE_UNIONPAY, paid on the gateway, settled by its callback."""
    before = order(pid).paid_amount
    res = checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, amount, "ONLINE_UNIONPAY")])
    db.session.expire_all()
    cp = detached(db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk)))
    gw.complete_payment(cp.channel_transaction_id, "SUCCESS")
    wait_until(lambda: order(pid).paid_amount == before + Decimal(amount))


def refund(pid, amount, ro=None, **kw):
    """create_refund as the order system; returns (Refund dict, HTTP status, duplicate)."""
    _n["n"] += 1
    ins = RefundInstruction(refund_order_id=ro or f"RW-{_n['n']:05d}", payment_id=pid, amount=Decimal(amount), **kw)
    r, code, dup = create_refund(ORDER_SYSTEM, ins)
    data = refund_view.refund_dict(r)
    db.session.rollback()
    return data, code, dup


def _created(instruction: RefundInstruction) -> int | str:
    _, code, dup = create_refund(ORDER_SYSTEM, instruction)
    return "duplicate" if dup else code


def race_refunds(app, instructions: list[RefundInstruction]) -> list[int | str]:
    """create_refund of every instruction at the same moment, as the order system: for each, the HTTP
    status, "duplicate" for a replay, or the refusal's class name."""
    return race(app, *[partial(_created, ins) for ins in instructions], refused=DomainError, by_name=True)


def refund_status(ro):
    db.session.expire_all()
    s = db.session.scalar(sa.select(Refund.status).where(Refund.refund_order_id == ro))
    db.session.rollback()
    return s


def part(txn_id) -> PaymentTransaction:
    db.session.expire_all()
    return detached(db.session.scalar(sa.select(PaymentTransaction).where(PaymentTransaction.transaction_id == txn_id)))


def count(model, *where):
    n = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
    db.session.rollback()
    return n


def events(event_type):
    rows = [e.payload for e in db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == event_type)
                                                  .order_by(OutboxEvent.id))]
    db.session.rollback()
    return rows
