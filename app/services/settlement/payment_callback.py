"""A payment callback from an ONLINE channel (docs/API.md §8). Callbacks are triggers; the store is
the truth: verified first (signature and timestamp by the adapter, then merchant order, amount and
transaction id here), the raw event recorded by its id and the payment settled, in one transaction.
A duplicate or late callback changes nothing and is answered 200."""

from __future__ import annotations

import sqlalchemy as sa

from ...channels.base import CallbackRejected
from ...domain.enums import GatewayPaymentStatus
from ...domain.payment_states import OUTCOME_FOR_GATEWAY_STATUS
from ...extensions import db
from ...models import ChannelPayment
from ..alerts import raising as alerts
from ..platform.actor import Actor
from . import channel_result as settlement
from .callback_recording import record_event, settle_and_answer
from .callback_verification import CallbackAnswer, verified_event


def handle_payment_callback(channel_code: str, headers: dict, body: bytes) -> CallbackAnswer:
    verified = verified_event(channel_code, headers, body, "payment")
    if isinstance(verified, CallbackAnswer):
        return verified
    cfg, event = verified
    result = event.payment
    assert result is not None  # the adapter builds a "payment" event with its result
    actor = Actor(type="channel", id=channel_code)

    def settle() -> None:
        cp = db.session.scalar(sa.select(ChannelPayment).where(
            ChannelPayment.channel_payment_id == result.channel_payment_no,
            ChannelPayment.channel_id == cfg.id).with_for_update())
        if cp is None:
            raise CallbackRejected("unknown merchant order")
        if result.amount != cp.amount:
            raise CallbackRejected(f"amount {result.amount} does not match {cp.amount}")
        if cp.channel_transaction_id and result.channel_transaction_id not in (None, cp.channel_transaction_id):
            raise CallbackRejected("transaction id does not match")
        record_event(channel_code, "payment", result.event_id, body)
        if result.status not in (GatewayPaymentStatus.SUCCESS, GatewayPaymentStatus.FAILED):
            return
        applied = settlement.apply(cp, settlement.Outcome(
            status=OUTCOME_FOR_GATEWAY_STATUS[result.status], channel_transaction_id=result.channel_transaction_id,
            completed_at=result.completed_at, reason=result.failure_reason or ""), actor)
        if not applied and cp.status != result.status:
            alerts.raise_alert("late_callback", f"{result.status} after {cp.status}",
                               payment=cp.channel_payment_id, channel=channel_code)

    return settle_and_answer(settle)
