"""Housekeeping jobs, enqueued by the scheduler (``app.jobs.cron``)."""

from __future__ import annotations

import logging

from ..services.audit import log as audit
from ..services.operations import chain_check
from ..services.platform import idempotency

log = logging.getLogger(__name__)


def seal_audit_log() -> int:
    """Link committed, unsealed audit rows into the hash chain; returns how many were sealed."""
    sealed = audit.seal()
    if sealed:
        log.info("sealed %d audit entries", sealed)
    return sealed


def purge_idempotency_keys() -> int:
    """Delete idempotency keys past their TTL; returns how many were deleted."""
    purged = idempotency.purge_expired()
    log.info("purged %d expired idempotency keys", purged)
    return purged


def verify_audit_chain() -> dict:
    """Seal, then recompute the audit chain; the result (with its time) is what /admin shows."""
    result = chain_check.run_and_store()
    if not result.ok:
        log.error("audit chain verification failed: %s", result.problem)
    return {"ok": result.ok, "checked": result.checked, "problem": result.problem}
