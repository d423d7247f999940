"""Deadline reminders (seed 000 §4.10, docs/DOMAIN.md "Deadlines"): a ``payment_order.deadline_reminder``
event and a notification to the company's people 7, 3 and 1 days before the deadline
(``REMINDER_DAYS_BEFORE``), on the day, and once it has passed (``overdue``, for deadlines of the last
``OVERDUE_WINDOW_DAYS``), by the Shanghai calendar. Each (order, stage) is sent once: its event id is
derived from them, and the outbox's unique event id turns a second send into nothing."""

from __future__ import annotations

from datetime import date, timedelta

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


# outbox_events.event_id holds 40 characters: "evt_reminder_" + a 23-character payment id + the
# stage's suffix ("overdue" would not fit).
_SUFFIX = {"overdue": "od"}


def _event_id(payment_id: str, stage: str) -> str:
    return f"evt_reminder_{payment_id}_{_SUFFIX.get(stage, stage)}"


OVERDUE_WINDOW_DAYS = 7  # an order overdue for longer (say, the job was stopped a week) is not reminded


def days_before(config_value: object) -> list[int]:
    """``REMINDER_DAYS_BEFORE``: days before the deadline, e.g. "7,3,1" (the default); each 1 to 60."""
    parts = [d.strip() for d in str(config_value).split(",") if d.strip()]
    days = sorted({int(d) for d in parts if d.isascii() and d.isdigit()}, reverse=True)
    if not parts or len(days) != len(set(parts)) or not all(1 <= d <= 60 for d in days):
        raise ValueError(f"REMINDER_DAYS_BEFORE must list days from 1 to 60, got {config_value!r}")
    return days


def stages(today: date, before: list[int]) -> dict[str, tuple[date, date]]:
    """Each stage with the Shanghai days (first, last) whose deadlines it reminds of."""
    out = {f"{d}d": (today + timedelta(days=d),) * 2 for d in before}
    out["day"] = (today, today)
    out["overdue"] = (today - timedelta(days=OVERDUE_WINDOW_DAYS), today - timedelta(days=1))
    return out


def send_due(limit: int = 1000) -> int:
    before = days_before(current_app.config.get("REMINDER_DAYS_BEFORE", "7,3,1"))
    sent = 0
    with transaction():
        for stage, (first, last) in stages(shanghai_today(), before).items():
            start, end = shanghai_day_bounds(first)[0], shanghai_day_bounds(last)[1]
            # Orders already reminded of this stage are left out here, so that a backlog of them can
            # never fill ``limit`` and starve the rest.
            reminded = sa.exists().where(
                OutboxEvent.event_id == sa.literal("evt_reminder_") + PaymentOrder.payment_id
                + sa.literal(f"_{_SUFFIX.get(stage, stage)}"))
            rows = db.session.execute(
                sa.select(PaymentOrder, Reseller.code).join(Reseller, Reseller.id == PaymentOrder.reseller_id)
                .where(PaymentOrder.payment_deadline >= start, PaymentOrder.payment_deadline < end,
                       PaymentOrder.payment_status.in_(OPEN), ~reminded)
                .order_by(PaymentOrder.id).limit(limit)).all()
            for order, code in rows:
                event_id = _event_id(order.payment_id, stage)
                outbox.emit(EventType.PAYMENT_ORDER_DEADLINE_REMINDER, "payment_order", order.payment_id,
                            {**order_dict(order, code), "reminderStage": stage}, event_id=event_id)
                announcements.deadline_reminder(order.reseller_id, order.payment_id, order.order_id, stage,
                                                order.payment_deadline, order.payable_amount)
                sent += 1
    return sent
