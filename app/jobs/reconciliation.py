"""Daily reconciliation (docs/DOMAIN.md §8): every hour, yesterday (Asia/Shanghai) of every channel.

ONLINE channels: one job per channel on the low queue fetches the gateway's statement; while it is
not published the job fails with ``StatementNotReady`` and RQ retries it with backoff. A statement
already reconciled changes nothing; a corrected one supersedes and the day is recomputed. WALLET and
CREDIT are checked against their own ledgers in the same tick."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from rq import Retry

from ..domain.timeutil import shanghai_today
from ..services.platform.queues import queue
from ..services.reconciliation import ledger_statement, online_fetch

log = logging.getLogger(__name__)

# 1, 2, 4, 8, 16, 32 minutes, then every hour until the next day's tick.
STATEMENT_RETRY = Retry(max=10, interval=[60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600])


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


def reconcile_online_statement(channel_id: int, day: str) -> dict:
    outcome = online_fetch.fetch_and_reconcile(channel_id, date.fromisoformat(day))
    log.info("reconciliation of channel %s for %s: %s", channel_id, day, outcome)
    return outcome
