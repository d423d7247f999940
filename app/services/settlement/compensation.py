"""Compensation (补偿查询) and expiry: drive every channel payment to a final state.

An ONLINE payment still PROCESSING past its confirmation time is queried at the bank (by the
scheduler, and by the reseller's refresh button); its answer settles through the normal path.
Unknown outcomes are never guessed: a bank error only postpones the next query."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from rq import Retry
from rq.job import Job

from ...channels.base import ChannelUnavailable
from ...channels.registry import adapter_for
from ...domain.enums import ChannelKind, ChannelPaymentStatus, GatewayPaymentStatus
from ...domain.payment_states import OUTCOME_FOR_GATEWAY_STATUS
from ...extensions import db
from ...models import ChannelPayment
from ...models.types import now_utc
from ..alerts import raising as alerts
from ..channel_config import lookup as channel_config
from ..platform.actor import SYSTEM, Actor
from ..platform.queues import queue
from ..platform.unit_of_work import end_read, transaction
from . import channel_result as settlement
from . import channel_start

RETRY_AFTER = timedelta(seconds=60)


def _postpone(cp_pk: int, delay: timedelta) -> None:
    with transaction():
        cp = settlement.lock_channel_payment(cp_pk)
        if cp.status == ChannelPaymentStatus.PROCESSING:
            cp.confirm_due_at = now_utc() + delay


def refresh(cp_pk: int, actor: Actor = SYSTEM) -> str:
    """Ask the channel about one payment and settle what it says. Returns what happened."""
    with transaction():
        cp = db.session.get(ChannelPayment, cp_pk)
        if cp is None or cp.status != ChannelPaymentStatus.PROCESSING or cp.channel_kind != ChannelKind.ONLINE:
            return "nothing-to-do"
        number, amount, expires_at, has_page = cp.channel_payment_id, cp.amount, cp.expires_at, bool(cp.pay_url)
        cfg = channel_config.config_by_id(cp.channel_id)
    if not has_page:
        return channel_start.start_online(cp_pk, actor)
    try:
        result = adapter_for(ChannelKind.ONLINE).query_payment(cfg, number)
    except ChannelUnavailable as exc:
        current_app.logger.warning("compensation query of %s failed, retrying later: %s", number, exc)
        _postpone(cp_pk, RETRY_AFTER)
        return "retry"
    if result.status in OUTCOME_FOR_GATEWAY_STATUS:
        if result.status == GatewayPaymentStatus.SUCCESS and result.amount != amount:
            with transaction():
                alerts.raise_alert("amount_mismatch", "the bank reports another amount", payment=number,
                                   ours=amount, bank=result.amount)
            return "mismatch"
        applied = settlement.settle(cp_pk, settlement.Outcome(
            status=OUTCOME_FOR_GATEWAY_STATUS[result.status], channel_transaction_id=result.channel_transaction_id,
            completed_at=result.completed_at, reason=result.failure_reason or ""), actor)
        return "settled" if applied else "already-final"
    if result.status == GatewayPaymentStatus.NOT_FOUND:
        with transaction():
            alerts.raise_alert("unknown_at_channel", "the bank does not know this payment", payment=number,
                               channel=cfg.code)
        _postpone(cp_pk, timedelta(hours=1))
        return "unknown"
    if expires_at is not None and expires_at < now_utc() and result.status == GatewayPaymentStatus.PENDING:
        settlement.settle(cp_pk, settlement.Outcome(status=ChannelPaymentStatus.EXPIRED, reason="not paid in time"),
                          actor)
        return "expired"
    _postpone(cp_pk, timedelta(seconds=cfg.confirm_timeout_seconds))
    return "pending"


def compensate_due(limit: int = 200) -> dict[str, int]:
    """Scheduled: query every ONLINE payment past its confirmation time."""
    due = db.session.scalars(sa.select(ChannelPayment.id).where(
        ChannelPayment.status == ChannelPaymentStatus.PROCESSING, ChannelPayment.channel_kind == ChannelKind.ONLINE,
        sa.or_(ChannelPayment.confirm_due_at <= now_utc(), ChannelPayment.pay_url.is_(None)),
    ).order_by(ChannelPayment.confirm_due_at).limit(limit)).all()
    end_read()
    counts: dict[str, int] = {}
    for cp_pk in due:
        outcome = refresh(cp_pk)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def enqueue_refresh(cp_pk: int) -> Job:
    """The reseller's refresh button: query the bank in the worker, retried if the worker dies."""
    return queue("high").enqueue("app.jobs.payments.refresh_channel_payment", cp_pk,
                                 retry=Retry(max=3, interval=[5, 30, 120]), job_timeout=60)

