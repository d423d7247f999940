"""Daily reconciliation (docs/DOMAIN.md §8): every hour, yesterday (Asia/Shanghai) of every channel.

ONLINE channels: one job per channel on the low queue fetches the gateway's statement; while it is
not published the job fails with ``StatementNotReady`` and RQ retries it with backoff. A statement
already reconciled changes nothing; a corrected one supersedes and the day is recomputed. WALLET and
CREDIT are checked against their own ledgers in the same tick. Finance asking for a day now
(services/reconciliation/on_demand.py) enqueues the same jobs, one per channel; a job that fails
for another reason, or whose statement is still not published when no retry is left, marks its run
FAILED (progress.py), so the screen stops waiting for it."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from rq import get_current_job

from ..channels.base import StatementNotReady
from ..domain.timeutil import shanghai_today
from ..services.platform.queues import queue
from ..services.reconciliation import ledger_statement, online_fetch, progress

log = logging.getLogger(__name__)

STATEMENT_RETRY = online_fetch.STATEMENT_RETRY


def reconcile_yesterday() -> dict[str, int]:
    day = shanghai_today() - timedelta(days=1)
    channels = online_fetch.online_channel_ids()
    for channel_id in channels:
        queue("low").enqueue("app.jobs.reconciliation.reconcile_online_statement", channel_id, day.isoformat(),
                             retry=STATEMENT_RETRY, job_timeout=1800, result_ttl=86400, failure_ttl=7 * 86400)
    internal = 0
    for channel_id in ledger_statement.internal_channel_ids():
        if ledger_statement.reconcile_ledger(channel_id, day)["reconciled"]:
            internal += 1
    return {"online_jobs": len(channels), "internal_reconciled": internal}


def _failed(channel_id: int, day: date, exc: Exception) -> None:
    try:
        progress.mark(channel_id, day, progress.FAILED, error=f"{type(exc).__name__}: {exc}"[:progress.ERROR_LENGTH])
    except Exception:  # the database itself may be what failed: the job's own error is the one to keep
        log.exception("could not mark the reconciliation of channel %s for %s failed", channel_id, day)


def reconcile_online_statement(channel_id: int, day: str) -> dict:
    when = date.fromisoformat(day)
    try:
        outcome = online_fetch.fetch_and_reconcile(channel_id, when)
    except StatementNotReady as exc:
        job = get_current_job()
        if job is None or not job.retries_left:  # no retry is left: the screen stops waiting for it
            _failed(channel_id, when, exc)
        raise  # otherwise WAITING: RQ retries it
    except Exception as exc:
        _failed(channel_id, when, exc)
        raise
    log.info("reconciliation of channel %s for %s: %s", channel_id, day, outcome)
    return outcome


def reconcile_ledger_day(channel_id: int, day: str) -> dict:
    when = date.fromisoformat(day)
    try:
        outcome = ledger_statement.reconcile_ledger(channel_id, when)
    except Exception as exc:
        _failed(channel_id, when, exc)
        raise
    log.info("ledger reconciliation of channel %s for %s: %s", channel_id, day, outcome)
    return outcome
