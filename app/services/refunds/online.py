"""ONLINE refund parts (docs/DOMAIN.md §5, §6): the gateway's refund API, asynchronous. A part is sent
after the transaction that created it has committed (no transaction open while talking to the
bank); the gateway's answer, its signed refund callback (``refunds/refund_callback.py``) and the compensation
query (``refresh_refund``, ``compensate_refunds``, every minute for parts PROCESSING over a minute)
all settle through refund_settlement. ChannelUnavailable (timeout, 5xx) leaves the part PROCESSING
for the query; ChannelError (the gateway refused it) fails it."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ...channels.base import ChannelConfig, ChannelError, ChannelUnavailable, RefundRequest, RefundResult
from ...channels.registry import adapter_for
from ...domain.enums import ChannelKind, GatewayRefundStatus, TransactionStatus, TransactionType
from ...extensions import db
from ...models import ChannelPayment, PaymentTransaction, Refund
from ...models.types import now_utc
from ..channel_config import lookup as channel_config
from ..platform.actor import SYSTEM, Actor
from ..platform.unit_of_work import discard, end_read, transaction
from .part_settlement import lock_part, settle_refund_part

log = logging.getLogger(__name__)


def _online_request(part: PaymentTransaction, actor: Actor) -> tuple[ChannelConfig, RefundRequest]:
    assert part.channel_id is not None  # an ONLINE part is made on the channel of the payment it refunds
    cfg = channel_config.config_by_id(part.channel_id)
    cp = db.session.get(ChannelPayment, part.channel_payment_id) if part.channel_payment_id else None
    refund = db.session.get_one(Refund, part.refund_id)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    req = RefundRequest(
        refund_no=part.transaction_id, channel_payment_no=cp.channel_payment_id if cp else "",
        channel_transaction_id=cp.channel_transaction_id if cp else None, amount=-part.amount,
        reason=(refund.reason or refund.refund_order_id)[:200],
        notify_url=f"{base}/api/v1/payment/callback/refund/{cfg.code}", reseller_id=part.reseller_id,
        original_transaction_pk=part.original_transaction_id or 0, actor=actor.label)
    return cfg, req


def _apply_result(txn_pk: int, result: RefundResult, actor: Actor) -> str:
    if result.status in (GatewayRefundStatus.SUCCESS, GatewayRefundStatus.FAILED):
        settle_refund_part(txn_pk, result.status, result.failure_reason or "", actor, result.channel_refund_id)
        return result.status.lower()
    if result.channel_refund_id:
        with transaction():
            part = lock_part(txn_pk)
            part.channel_transaction_id = part.channel_transaction_id or result.channel_refund_id
    return "processing"


def dispatch_online(txn_pk: int, actor: Actor = SYSTEM) -> str:
    """Ask the gateway to refund one PROCESSING part (outside any transaction).
    ChannelUnavailable leaves it PROCESSING for the query job; ChannelError fails it."""
    part = db.session.get(PaymentTransaction, txn_pk)
    if part is None or part.status != TransactionStatus.PROCESSING:
        end_read()
        return "final"
    cfg, req = _online_request(part, actor)
    end_read()  # no transaction open while talking to the bank
    try:
        result = adapter_for(cfg.kind).refund(cfg, req)
    except ChannelUnavailable as exc:
        log.warning("refund %s left for the query job: %s", req.refund_no, exc)
        return "unavailable"
    except ChannelError as exc:
        settle_refund_part(txn_pk, TransactionStatus.FAILED, str(exc), actor)
        return "failed"
    return _apply_result(txn_pk, result, actor)


def refresh_refund(txn_pk: int, actor: Actor = SYSTEM) -> str:
    """Compensation: ask the gateway about one PROCESSING ONLINE part and settle what it says."""
    part = db.session.get(PaymentTransaction, txn_pk)
    if part is None or part.status != TransactionStatus.PROCESSING or part.channel_kind != ChannelKind.ONLINE:
        end_read()
        return "final"
    cfg, req = _online_request(part, actor)
    end_read()
    adapter = adapter_for(cfg.kind)
    try:
        result = adapter.query_refund(cfg, req.refund_no)
        if result.status == GatewayRefundStatus.NOT_FOUND:
            result = adapter.refund(cfg, req)  # the request never reached the gateway: send it (idempotent)
    except ChannelUnavailable:
        return "unavailable"
    except ChannelError as exc:
        settle_refund_part(txn_pk, TransactionStatus.FAILED, str(exc), actor)
        return "failed"
    return _apply_result(txn_pk, result, actor)


def compensate_refunds(older_than_seconds: int = 60, limit: int = 200) -> dict:
    """Query the gateway about ONLINE refund parts still PROCESSING after ``older_than_seconds``."""
    cutoff = now_utc() - timedelta(seconds=older_than_seconds)
    pks = db.session.scalars(sa.select(PaymentTransaction.id).where(
        PaymentTransaction.transaction_type == TransactionType.REFUND,
        PaymentTransaction.status == TransactionStatus.PROCESSING,
        PaymentTransaction.channel_kind == ChannelKind.ONLINE, PaymentTransaction.created_at <= cutoff)
        .order_by(PaymentTransaction.id).limit(limit)).all()
    end_read()
    counts: dict[str, int] = {}
    for pk in pks:
        try:
            outcome = refresh_refund(pk)
        except Exception:  # one bad part must not stop the others
            discard()
            log.exception("refund compensation failed for transaction %s", pk)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
