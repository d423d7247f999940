"""Deadline reminders: a ``payment_order.deadline_reminder`` event N days before the deadline and on
the day (Shanghai calendar). Each (order, stage) is sent once: its event id is derived from them, and
the outbox's unique event id turns a second send into nothing."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ...domain.enums import PaymentStatus
from ...domain.event_types import EventType
from ...domain.timeutil import shanghai_day_bounds, shanghai_today
from ...extensions import db
from ...models import OutboxEvent, PaymentOrder, Reseller
from ..notifications import announcements
from ..platform import outbox
from ..platform.unit_of_work import transaction
from .view import order_dict

OPEN = (PaymentStatus.UNPAID, PaymentStatus.PAYING, PaymentStatus.PARTIAL_PAID, PaymentStatus.FAILED)


def _event_id(payment_id: str, stage: str) -> str:
    return f"evt_reminder_{payment_id}_{stage}"


def send_due(limit: int = 1000) -> int:
    days_before = int(current_app.config.get("REMINDER_DAYS_BEFORE", 3))
    today = shanghai_today()
    stages = {f"{days_before}d": today + timedelta(days=days_before), "day": today}
    sent = 0
    with transaction():
        for stage, day in stages.items():
            start, end = shanghai_day_bounds(day)
            rows = db.session.execute(
                sa.select(PaymentOrder, Reseller.code).join(Reseller, Reseller.id == PaymentOrder.reseller_id)
                .where(PaymentOrder.payment_deadline >= start, PaymentOrder.payment_deadline < end,
                       PaymentOrder.payment_status.in_(OPEN))
                .order_by(PaymentOrder.id).limit(limit)).all()
            ids = {_event_id(o.payment_id, stage): (o, code) for o, code in rows}
            done = set(db.session.scalars(sa.select(OutboxEvent.event_id).where(OutboxEvent.event_id.in_(ids))))
            for event_id, (order, code) in ids.items():
                if event_id in done:
                    continue
                outbox.emit(EventType.PAYMENT_ORDER_DEADLINE_REMINDER, "payment_order", order.payment_id,
                            {**order_dict(order, code), "reminderStage": stage}, event_id=event_id)
                announcements.deadline_reminder(order.reseller_id, order.payment_id, order.order_id, stage,
                                                order.payment_deadline, order.payable_amount)
                sent += 1
    return sent
