"""Callbacks from channels are triggers; the store is the truth (STYLE.md §6).

Verify first (signature, timestamp, merchant, order, amount), then record the raw event by its id and
settle, in one transaction. A duplicate or late callback changes nothing and is answered 200."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..channels.base import CallbackRejected
from ..channels.registry import adapter_for
from ..extensions import db
from ..models import ChannelEvent, ChannelPayment
from ..models.types import now_utc
from . import alerts, channels, settlement
from .actor import Actor
from .tx import transaction


@dataclass(frozen=True)
class CallbackAnswer:
    status: int
    text: str


def _verified_event(channel_code: str, headers: dict, body: bytes, kind: str):
    """(channel config, event) of a correctly signed callback of this kind, else the answer refusing it."""
    cfg = channels.config_by_code(channel_code)
    db.session.rollback()
    if cfg is None or cfg.kind != "ONLINE":
        return CallbackAnswer(404, "unknown channel")
    try:
        event = adapter_for(cfg.kind).parse_callback(cfg, headers, body)
    except CallbackRejected as exc:
        return CallbackAnswer(400, f"rejected: {exc}")
    if event.kind != kind:
        return CallbackAnswer(400, f"not a {kind} callback")
    return cfg, event


def handle_payment_callback(channel_code: str, headers: dict, body: bytes) -> CallbackAnswer:
    verified = _verified_event(channel_code, headers, body, "payment")
    if isinstance(verified, CallbackAnswer):
        return verified
    cfg, event = verified
    result = event.payment
    actor = Actor(type="channel", id=channel_code)
    try:
        with transaction():
            cp = db.session.scalar(sa.select(ChannelPayment).where(
                ChannelPayment.channel_payment_id == result.channel_payment_no,
                ChannelPayment.channel_id == cfg.id).with_for_update())
            if cp is None:
                raise CallbackRejected("unknown merchant order")
            if result.amount != cp.amount:
                raise CallbackRejected(f"amount {result.amount} does not match {cp.amount}")
            if cp.channel_transaction_id and result.channel_transaction_id not in (None, cp.channel_transaction_id):
                raise CallbackRejected("transaction id does not match")
            db.session.add(ChannelEvent(channel_code=channel_code, kind="payment", event_key=result.event_id,
                                        body=body.decode("utf-8", "replace"), received_at=now_utc()))
            db.session.flush()
            if result.status not in ("SUCCESS", "FAILED"):
                return CallbackAnswer(200, "success")
            applied = settlement.apply(cp, settlement.Outcome(
                status=result.status, channel_transaction_id=result.channel_transaction_id,
                completed_at=result.completed_at, reason=result.failure_reason or ""), actor)
            if not applied and cp.status != result.status:
                alerts.raise_alert("late_callback", f"{result.status} after {cp.status}",
                                   payment=cp.channel_payment_id, channel=channel_code)
    except CallbackRejected as exc:
        return CallbackAnswer(400, f"rejected: {exc}")
    except IntegrityError:
        db.session.rollback()  # the same event id was recorded already: a duplicate
    return CallbackAnswer(200, "success")


def handle_refund_callback(channel_code: str, headers: dict, body: bytes) -> CallbackAnswer:
    """A refund result from an online channel: verified, recorded by its event id and settled in one
    transaction (lock order of refunds.settle_refund_part: refund transaction first)."""
    from ..models import PaymentTransaction
    from . import refunds

    verified = _verified_event(channel_code, headers, body, "refund")
    if isinstance(verified, CallbackAnswer):
        return verified
    cfg, event = verified
    result = event.refund
    actor = Actor(type="channel", id=channel_code)
    try:
        with transaction():
            part = db.session.scalar(sa.select(PaymentTransaction).where(
                PaymentTransaction.transaction_id == result.refund_no,
                PaymentTransaction.transaction_type == "REFUND",
                PaymentTransaction.channel_id == cfg.id).with_for_update())
            if part is None:
                raise CallbackRejected("unknown merchant refund")
            if result.amount != -part.amount:
                raise CallbackRejected(f"amount {result.amount} does not match {-part.amount}")
            db.session.add(ChannelEvent(channel_code=channel_code, kind="refund", event_key=result.event_id,
                                        body=body.decode("utf-8", "replace"), received_at=now_utc()))
            db.session.flush()
            if result.status not in ("SUCCESS", "FAILED"):
                return CallbackAnswer(200, "success")
            applied = refunds.apply_part_outcome(part, result.status, result.failure_reason or "", actor,
                                                 result.channel_refund_id)
            if not applied and part.status != result.status:
                alerts.raise_alert("late_refund_callback", f"{result.status} after {part.status}",
                                   transaction=part.transaction_id, channel=channel_code)
    except CallbackRejected as exc:
        return CallbackAnswer(400, f"rejected: {exc}")
    except IntegrityError:
        db.session.rollback()  # the same event id was recorded already: a duplicate
    return CallbackAnswer(200, "success")
