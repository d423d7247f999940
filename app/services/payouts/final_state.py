"""A payout becoming final (docs/DOMAIN.md §9): the one place where an open order (INIT, PROCESSING
or MANUAL) turns SUCCESS or FAILED, whoever said so (the bank's answer, its callback, polling,
finance's MANUAL settlement). In that same transaction: the audit entry, ``disbursement.completed``,
the notifyUrl delivery, and whatever the payout was for (a WIRE refund's part), through the
handler its source registered (``on_final``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from ...domain.enums import DisbursementStatus, PayoutSource
from ...domain.event_types import EventType
from ...domain.money import money_str
from ...domain.timeutil import to_shanghai_iso
from ...extensions import db
from ...models import Disbursement, Merchant
from ...models.types import now_utc
from ..alerts.kinds import PAYOUT_MANUAL
from ..alerts.raising import clear_alert
from ..audit import log as audit
from ..platform import outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from . import notify as payout_notify
from .bank import BankAnswer

FIRST_POLL = timedelta(seconds=5)
OPEN = (DisbursementStatus.INIT, DisbursementStatus.PROCESSING)
FINAL = (DisbursementStatus.SUCCESS, DisbursementStatus.FAILED)

# What else settles when a payout of a source becomes final: (payout, actor) -> None, in the same
# transaction. Registered at app start by the areas that make payouts for their own purposes
# (services/connections.py); a payout whose source needs a handler and has none refuses to become
# final, so its purpose can never be left unsettled silently.
FinalStateHandler = Callable[[Disbursement, Actor], None]
_HANDLERS: dict[str, FinalStateHandler] = {}
SOURCES_WITHOUT_HANDLER = frozenset({PayoutSource.API})


def on_final(source: PayoutSource, handler: FinalStateHandler) -> None:
    _HANDLERS[source] = handler


def lock(order_no: str) -> Disbursement | None:
    stmt = sa.select(Disbursement).where(Disbursement.order_no == order_no)
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def lock_known(order_no: str) -> Disbursement:
    """``lock`` of an order that was read before: disbursements are never deleted, so it is there."""
    d = lock(order_no)
    assert d is not None, f"disbursement {order_no} vanished"
    return d


def finish(d: Disbursement, actor: Actor, status: str, serial: str | None, reason: str | None,
           now: datetime, action: str = "disbursement.complete") -> None:
    """Make a locked open order final, in the caller's transaction: audit, ``disbursement.completed``,
    the notifyUrl delivery, and the handler of its source."""
    handler = _HANDLERS.get(d.source)
    if handler is None and d.source not in SOURCES_WITHOUT_HANDLER:
        raise RuntimeError(f"payout {d.order_no} of source {d.source} has no final-state handler registered")
    before = {"status": d.status}
    if d.status == DisbursementStatus.MANUAL:
        clear_alert(PAYOUT_MANUAL, d.order_no, actor, note=f"the payout is {status}")
    status = DisbursementStatus(status)  # the bank's or finance's word, already checked to be final
    d.status, d.bank_serial_no, d.fail_reason = status, serial, reason if status == DisbursementStatus.FAILED else None
    d.completed_at = now
    d.next_poll_at = None
    d.updated_at = now
    merchant = db.session.get_one(Merchant, d.merchant_id)
    payload = {"orderNo": d.order_no, "requestId": d.request_id, "merchantId": merchant.merchant_id,
               "status": status, "amount": money_str(d.amount), "currency": d.currency,
               "bankCode": d.bank_code, "bankAccountNo": d.account_no_masked, "bankSerialNo": serial,
               "failReason": d.fail_reason, "completedAt": to_shanghai_iso(now), "source": d.source}
    audit.record(actor, action, "disbursement", d.order_no, before,
                 {"status": status, "bankSerialNo": serial, "failReason": d.fail_reason})
    event_id = outbox.emit(EventType.DISBURSEMENT_COMPLETED, "disbursement", d.order_no, payload)
    if d.notify_url:
        payout_notify.queue(d, payload, event_id, now)
    if handler is not None:
        handler(d, actor)


def apply_answer(order_no: str, answer: BankAnswer, actor: Actor, now: datetime | None = None,
           from_create: bool = False) -> str:
    """Record the bank's answer; returns the order's status afterwards."""
    now = now or now_utc()
    with transaction():
        d = lock_known(order_no)
        if d.status in FINAL:
            return d.status
        if answer.status in FINAL:
            finish(d, actor, answer.status, answer.bank_serial_no, answer.fail_reason, now)
        elif from_create and d.status == DisbursementStatus.INIT:
            d.status = DisbursementStatus.PROCESSING
            d.poll_attempts = 0
            d.next_poll_at = now + FIRST_POLL
            d.updated_at = now
            audit.record(actor, "disbursement.processing", "disbursement", d.order_no,
                         {"status": DisbursementStatus.INIT}, {"status": d.status, "bankAnswer": answer.status})
        return d.status

