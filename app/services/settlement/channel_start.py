"""Starting a merged payment's channel payments once it may go ahead (at checkout, on approval, or
when compensation finds an ONLINE payment whose bank request never got through): the first step
of each channel payment's way to a final state.

Internal channels (WALLET, CREDIT) move money inside the caller's transaction and settle at once;
WIRE gets its reference code and waits for a voucher; ONLINE asks the bank for a pay page *after*
the transaction commits, because an HTTP call must never hold row locks."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ...channels.base import ChannelError, ChannelUnavailable, PaymentPart, PaymentRequest
from ...channels.registry import adapter_for
from ...domain.enums import ChannelKind, ChannelPaymentStatus, TransactionStatus
from ...domain.payment_states import ChannelPaymentEvent, next_channel_payment_status
from ...extensions import db
from ...models import ChannelPayment, MergedPayment, PaymentTransaction, Reseller
from ...models.types import now_utc
from ..channel_config import lookup as channel_config
from ..ledgers.port import LEDGERS
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read, transaction
from . import channel_result as settlement


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def _request(cp: ChannelPayment, mp: MergedPayment, reseller: Reseller, actor: Actor) -> PaymentRequest:
    parts = tuple(
        PaymentPart(t.id, t.payment_order_id, t.order_id, t.amount)
        for t in db.session.scalars(sa.select(PaymentTransaction).where(
            PaymentTransaction.channel_payment_id == cp.id, PaymentTransaction.status == TransactionStatus.PROCESSING)
            .order_by(PaymentTransaction.id))
    )
    cfg = channel_config.config_by_id(cp.channel_id)
    return PaymentRequest(
        channel_payment_no=cp.channel_payment_id, amount=cp.amount, reseller_id=reseller.id,
        reseller_code=reseller.code, subject=f"{reseller.name} · {mp.merged_payment_id}",
        notify_url=public_url(f"/api/v1/payment/callback/online/{cp.channel_code}"),
        return_url=public_url(f"/payments/{mp.merged_payment_id}"), expire_seconds=cfg.expire_seconds,
        parts=parts, actor=actor.label,
    )


def start_internal_channels(mp: MergedPayment, actor: Actor) -> None:
    """In the caller's transaction: pay WALLET/CREDIT now, give WIRE its reference, time ONLINE."""
    reseller = db.session.get_one(Reseller, mp.reseller_id)
    now = now_utc()
    for cp in db.session.scalars(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == mp.id)
                                 .order_by(ChannelPayment.id)):
        cfg = channel_config.config_by_id(cp.channel_id)
        if cp.status != ChannelPaymentStatus.PROCESSING:  # it waited for approval (PENDING)
            cp.status = next_channel_payment_status(cp.status, ChannelPaymentEvent.APPROVE)
        cp.expires_at = now + timedelta(seconds=cfg.expire_seconds)
        cp.confirm_due_at = now + timedelta(seconds=cfg.confirm_timeout_seconds)
        adapter = adapter_for(cp.channel_kind)
        if adapter.capabilities.settles_immediately:
            start = adapter.create_payment(cfg, _request(cp, mp, reseller, actor), LEDGERS)
            settlement.apply(cp, settlement.Outcome(status=start.status,
                                                    channel_transaction_id=start.channel_transaction_id), actor)
        elif adapter.capabilities.needs_voucher:
            start = adapter.create_payment(cfg, _request(cp, mp, reseller, actor))
            cp.wire_reference = start.wire_reference
            cp.confirm_due_at = None  # finance confirms; nothing to query
    db.session.flush()


def start_online_payments(merged_pk: int, actor: Actor) -> None:
    cp_pks = db.session.scalars(sa.select(ChannelPayment.id).where(
        ChannelPayment.merged_payment_id == merged_pk, ChannelPayment.channel_kind == ChannelKind.ONLINE,
        ChannelPayment.status == ChannelPaymentStatus.PROCESSING, ChannelPayment.pay_url.is_(None))).all()
    end_read()
    for cp_pk in cp_pks:
        start_online(cp_pk, actor)


def start_online(cp_pk: int, actor: Actor) -> str:
    """Ask the bank for a pay page. Safe to repeat: the gateway is idempotent per merchant order no.
    Returns 'started', 'failed' (the bank refused: released), 'retry' (temporary) or 'skipped'."""
    with transaction():
        cp = db.session.get(ChannelPayment, cp_pk)
        if cp is None or cp.status != ChannelPaymentStatus.PROCESSING or cp.pay_url:
            return "skipped"
        mp = db.session.get_one(MergedPayment, cp.merged_payment_id)
        req = _request(cp, mp, db.session.get_one(Reseller, mp.reseller_id), actor)
        cfg = channel_config.config_by_id(cp.channel_id)
    try:
        start = adapter_for(ChannelKind.ONLINE).create_payment(cfg, req)
    except ChannelError as exc:
        settlement.settle(cp_pk, settlement.Outcome(status=ChannelPaymentStatus.FAILED,
                                                    reason=f"bank refused: {exc}"[:500]), actor)
        return "failed"
    except ChannelUnavailable as exc:
        current_app.logger.warning("bank request for %s failed, will retry: %s", req.channel_payment_no, exc)
        return "retry"
    with transaction():
        cp = settlement.lock_channel_payment(cp_pk)
        if cp.status == ChannelPaymentStatus.PROCESSING and not cp.pay_url:
            cp.pay_url = start.pay_url
            cp.channel_transaction_id = cp.channel_transaction_id or start.channel_transaction_id
    return "started"
