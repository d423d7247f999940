"""Putting notification e-mails on the ``low`` queue, once the rows that ask for them are committed
(as ``services/documents/dispatch.py`` does for documents).

``after_commit(job_id, ids)`` remembers the mails in the current session; when its transaction
commits, one job sends them (a rolled-back change enqueues nothing). If Redis cannot be reached
the rows stay PENDING with their job id, and ``mail.sweep`` finds that job gone and queues them
again. A job that cannot reach the SMTP server is retried by RQ with backoff (``RETRY``); once RQ
gives up, the sweep queues the still-PENDING mails again: a mail is never lost, only delayed.
"""

from __future__ import annotations

import logging
import secrets

from redis.exceptions import RedisError
from rq import Retry

from ..platform import commit_hooks as on_commit
from ..platform.queues import queue, queue_prefix

log = logging.getLogger(__name__)

QUEUE = "low"
SEND_JOB = "app.jobs.mail.send_notification_mails"
# RQ's own retries of a job whose SMTP server did not answer (seconds); after them, the sweep.
RETRY_INTERVALS = [15, 60, 300, 900]
_PENDING = "mails_to_dispatch"


def new_job_id() -> str:
    """A fresh job id (RQ job ids share one namespace per Redis: it carries the queue prefix)."""
    return f"{queue_prefix()}mail-{secrets.token_hex(8)}"


def after_commit(job_id: str, notification_ids: list[int]) -> None:
    """Enqueue the job sending these notifications' mails when the current transaction commits."""
    on_commit.defer(_PENDING, (job_id, list(notification_ids)))


def enqueue(job_id: str, notification_ids: list[int]) -> bool:
    """Put the send job on the queue now; False if Redis failed (the sweep tries again)."""
    try:
        queue(QUEUE).enqueue(SEND_JOB, list(notification_ids), job_id=job_id, job_timeout=300,
                             retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                             result_ttl=3600, failure_ttl=7 * 86400)
        return True
    except RedisError:
        log.warning("mail job %s not queued: Redis cannot be reached (the sweep queues it again)", job_id,
                    exc_info=True)
        return False


@on_commit.handles(_PENDING)
def _dispatch_committed(jobs: list[tuple[str, list[int]]]) -> None:
    by_job: dict[str, list[int]] = {}
    for job_id, ids in jobs:
        by_job.setdefault(job_id, []).extend(ids)
    for job_id, ids in by_job.items():
        enqueue(job_id, ids)
