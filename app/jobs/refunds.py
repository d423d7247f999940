"""Scheduled refund job: query the gateway about ONLINE refund parts whose callback has not come."""

from __future__ import annotations

import logging

from ..services.refunds import online as refund_online

log = logging.getLogger(__name__)


def compensate_refunds() -> dict:
    counts = refund_online.compensate_refunds()
    if counts:
        log.info("refund compensation: %s", counts)
    return counts


def refresh_refund(txn_pk: int) -> str:
    """One refund part, now (finance's refresh button, or a retry)."""
    return refund_online.refresh_refund(txn_pk)
