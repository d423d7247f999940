"""A refund callback from an ONLINE channel (docs/API.md §8): verified like a payment callback, the
raw event recorded by its id, and the refund part settled, in one transaction."""

from __future__ import annotations

import sqlalchemy as sa

from ...channels.base import CallbackRejected
from ...domain.enums import GatewayRefundStatus, TransactionType
from ...extensions import db
from ...models import PaymentTransaction
from ..alerts import raising as alerts
from ..platform.actor import Actor
from ..settlement.callback_recording import record_event, settle_and_answer
from ..settlement.callback_verification import CallbackAnswer, verified_event
from . import part_settlement as refund_settlement


def handle_refund_callback(channel_code: str, headers: dict, body: bytes) -> CallbackAnswer:
    """A refund result from an online channel: verified, recorded by its event id and settled in one
    transaction (lock order of refunds.settle_refund_part: refund transaction first)."""
    verified = verified_event(channel_code, headers, body, "refund")
    if isinstance(verified, CallbackAnswer):
        return verified
    cfg, event = verified
    result = event.refund
    assert result is not None  # the adapter builds a "refund" event with its result
    actor = Actor(type="channel", id=channel_code)

    def settle() -> None:
        part = db.session.scalar(sa.select(PaymentTransaction).where(
            PaymentTransaction.transaction_id == result.refund_no,
            PaymentTransaction.transaction_type == TransactionType.REFUND,
            PaymentTransaction.channel_id == cfg.id).with_for_update())
        if part is None:
            raise CallbackRejected("unknown merchant refund")
        if result.amount != -part.amount:
            raise CallbackRejected(f"amount {result.amount} does not match {-part.amount}")
        record_event(channel_code, "refund", result.event_id, body)
        if result.status not in (GatewayRefundStatus.SUCCESS, GatewayRefundStatus.FAILED):
            return
        applied = refund_settlement.apply_part_outcome(part, result.status, result.failure_reason or "", actor,
                                                       result.channel_refund_id)
        if not applied and part.status != result.status:
            alerts.raise_alert("late_refund_callback", f"{result.status} after {part.status}",
                               transaction=part.transaction_id, channel=channel_code)

    return settle_and_answer(settle)
