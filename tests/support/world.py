"""A world of real payments for the screens that summarise them (orders, dashboard): R1001's orders
paid, part paid, in flight and frozen through the real services, and one of R1002's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models import CreditRecord
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.orders.creation import NewPaymentOrder, create_payment_order
from app.services.orders.update import OrderChanges, update_payment_order
from app.services.platform.actor import Actor

from .factories import add_channel

NOW = datetime.now(UTC).replace(microsecond=0)
ENGINE_ACTOR = Actor(type="system", id="tests")


@dataclass
class World:
    """Orders of R1001 as the engine left them after real checkouts (see ``world``)."""

    overdue: str
    due_soon: str
    later: str
    part_paid: str  # 3000.00, 1000.00 paid from the wallet, due in 5 days
    credit_paid: str  # 4000.00 paid with credit: PAID, one credit record
    frozen: str
    wiring: str  # 800.00, 500.00 in flight by wire
    repayment: str  # CREDIT_REPAYMENT of 1500.00 for credit_paid's record
    credit_record_id: str
    merged: dict[str, str]  # channel kind -> merged payment id
    other: str  # R1002's, overdue


def _engine_order(reseller: str, order_id: str, amount: str, deadline: datetime | None = None, **kw) -> str:
    return create_payment_order(
        ENGINE_ACTOR, NewPaymentOrder(order_id=order_id, reseller_code=reseller,
                                      payment_type=kw.pop("payment_type", "ADVANCE_PAYMENT"),
                                      payment_amount=Decimal(amount), payment_deadline=deadline, **kw),
        idempotency_key=None, fingerprint="x").order.payment_id


def _pay(rid: int, payment_id: str, amount: str, channel: str) -> str:
    return checkout.submit(ENGINE_ACTOR, None, rid, [AllocationIn(payment_id, amount, channel)]).merged_payment_id


def build_world(app, portal) -> World:
    """R1001 (wallet 500,000.00, credit 1,000,000.00): seven orders paid, part paid, in flight, frozen
    through the real services; R1002: one overdue order."""
    day = timedelta(days=1)
    with app.app_context():
        add_channel("WALLET", "WALLET", name="企业钱包", name_en="Enterprise wallet")
        add_channel("CREDIT", "CREDIT", name="信用额度", name_en="Credit line")
        add_channel("WIRE_ICBC", "WIRE", name="工行电汇", name_en="ICBC wire",
                    config={"account_name": "收款公司", "account_no": "6222020200112233445", "bank_name": "ICBC"})
        w = {
            "overdue": _engine_order("R1001", "W-LATE", "1000.00", NOW - 2 * day),
            "due_soon": _engine_order("R1001", "W-SOON", "2000.00", NOW + 3 * day),
            "later": _engine_order("R1001", "W-LATER", "5000.00", NOW + 30 * day),
            "part_paid": _engine_order("R1001", "W-PART", "3000.00", NOW + 5 * day),
            "credit_paid": _engine_order("R1001", "W-CREDIT", "4000.00", NOW + 10 * day),
            "frozen": _engine_order("R1001", "W-FROZEN", "700.00", NOW - 9 * day),
            "wiring": _engine_order("R1001", "W-WIRE", "800.00"),
            "other": _engine_order("R1002", "W-OTHER", "999.00", NOW - 1 * day),
        }
        merged = {"WALLET": _pay(portal.r1001, w["part_paid"], "1000.00", "WALLET"),
                  "CREDIT": _pay(portal.r1001, w["credit_paid"], "4000.00", "CREDIT"),
                  "WIRE": _pay(portal.r1001, w["wiring"], "500.00", "WIRE_ICBC")}
        update_payment_order(ENGINE_ACTOR, w["frozen"], OrderChanges(action="FREEZE", reason="dispute"))
        record = db.session.scalar(sa.select(CreditRecord.credit_record_id))
        w["repayment"] = _engine_order("R1001", "W-CREDIT", "1500.00", NOW + 20 * day,
                                       payment_type="CREDIT_REPAYMENT", credit_record_id=record)
        db.session.remove()
    return World(credit_record_id=record, merged=merged, **w)
