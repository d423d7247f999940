"""Scheduled disbursement jobs: poll the bank about unknown payouts, deliver notifyUrl notifications."""

from __future__ import annotations

import logging

from ..services.payouts import notify as payout_notify
from ..services.payouts import polling as payout_polling

log = logging.getLogger(__name__)


def poll_disbursements() -> dict:
    """Query the bank about due INIT/PROCESSING payouts (backoff 5 s doubling; MANUAL after the bound)."""
    counts = payout_polling.poll_due()
    if counts.get("polled"):
        log.info("disbursement poll: %s", counts)
    return counts


def deliver_disbursement_notifications() -> dict:
    """POST final disbursement states to their notifyUrl (signed, retried with backoff)."""
    counts = payout_notify.deliver_notifications()
    if any(counts.values()):
        log.info("disbursement notify: %s", counts)
    return counts
