"""Scheduled refund job: query the gateway about ONLINE refund parts whose callback has not come."""

from __future__ import annotations

import logging

from ..services import refunds

log = logging.getLogger(__name__)


def compensate_refunds() -> dict:
    counts = refunds.compensate_refunds()
    if counts:
        log.info("refund compensation: %s", counts)
    return counts


def refresh_refund(txn_pk: int) -> str:
    """One refund part, now (finance's refresh button, or a retry)."""
    return refunds.refresh_refund(txn_pk)
