"""Disbursement batch jobs (docs/DOMAIN.md §9): the run of an approved batch (queued on ``low`` when it
is approved) and the schedule's resumption of runs whose job was lost."""

from __future__ import annotations

import logging

from ..services.payouts import batch_run

log = logging.getLogger(__name__)


def run_disbursement_batch(batch_no: str) -> dict:
    """Pay every row of an approved batch once (idempotent: a retry pays nothing twice)."""
    counts = batch_run.run(batch_no)
    log.info("disbursement batch %s: %s", batch_no, counts)
    return counts


def resume_disbursement_batches() -> int:
    """Queue again approved batches whose run stalled (rows without a payout after 10 minutes)."""
    return batch_run.resume_stalled()
