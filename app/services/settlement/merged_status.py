"""A merged payment's state follows its channel payments: once every one is final, the merged
payment takes the state the table of ``domain/payment_states.py`` gives for what they ended as.

Areas that react to a completed merged payment without settlement importing them (the receipt of
``services/documents``) register a handler with ``on_completed`` (``services/connections.py``); it
runs in the settling transaction, after the status change and its event."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from ...domain.event_types import EventType
from ...domain.payment_states import MERGED_FINAL, merged_event_for, next_merged_status
from ...extensions import db
from ...models import ChannelPayment, MergedPayment
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import outbox
from ..platform.actor import Actor

CompletedHandler = Callable[[MergedPayment, Actor], None]
_completed_handlers: list[CompletedHandler] = []


def on_completed(handler: CompletedHandler) -> None:
    """Call ``handler(merged_payment, actor)`` whenever a merged payment reaches a final state, in the
    settling transaction (registering the same handler twice keeps one)."""
    if handler not in _completed_handlers:
        _completed_handlers.append(handler)


def refresh_merged_status(merged_pk: int, actor: Actor) -> None:
    """In the caller's transaction, after a channel payment of ``merged_pk`` changed (locks the merged
    payment last, as the global lock order asks)."""
    mp = db.session.scalars(sa.select(MergedPayment).where(MergedPayment.id == merged_pk).with_for_update()).one()
    statuses = db.session.scalars(
        sa.select(ChannelPayment.status).where(ChannelPayment.merged_payment_id == merged_pk)).all()
    event = merged_event_for(statuses)
    if event is None or mp.status in MERGED_FINAL:
        return
    new = next_merged_status(mp.status, event)
    old = mp.status
    mp.status = new
    mp.completed_at = now_utc()
    audit.record(actor, "merged_payment.status", "merged_payment", mp.merged_payment_id,
                 {"status": old}, {"status": new.value})
    outbox.emit(EventType.MERGED_PAYMENT_COMPLETED, "merged_payment", mp.merged_payment_id,
                {"mergedPaymentId": mp.merged_payment_id, "status": new.value,
                 "totalAmount": f"{mp.total_amount:.2f}"})
    for handler in _completed_handlers:
        handler(mp, actor)
