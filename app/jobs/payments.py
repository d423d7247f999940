"""Scheduled payment-engine jobs: compensation queries, expiry, deadline reminders."""

from __future__ import annotations

import logging

from ..services.orders import reminders, repayment_orders
from ..services.settlement import compensation, expiry

log = logging.getLogger(__name__)


def compensate_payments() -> dict:
    """Query the bank about ONLINE payments past their confirmation time and settle what it says."""
    counts = compensation.compensate_due()
    if counts:
        log.info("compensation: %s", counts)
    return counts


def refresh_channel_payment(channel_payment_pk: int) -> str:
    """One payment, now (the reseller's refresh button, or a retry)."""
    return compensation.refresh(channel_payment_pk)


def expire_payments() -> int:
    expired = expiry.expire_due()
    if expired:
        log.info("expired %d channel payments", expired)
    return expired


def send_deadline_reminders() -> int:
    return reminders.send_due()


def create_repayment_orders() -> int:
    """Sweep: the automatic repayment orders that a crash after checkout may have left out."""
    return repayment_orders.create_missing()
