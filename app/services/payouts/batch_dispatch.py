"""Putting an approved disbursement batch's run on the ``low`` queue once the approval is committed
(a rolled-back approval queues nothing). The run is idempotent (``batch_run``): a second job for the
same batch pays nothing twice; the job id carries the batch number, so an approval never queues two
while one waits. If Redis cannot be reached the batch stays RUNNING with rows not yet paid, and the
schedule's ``resume`` finds it (``batch_run.resume_stalled``)."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from ..platform import commit_hooks as on_commit
from ..platform.queues import queue, queue_prefix

log = logging.getLogger(__name__)

QUEUE = "low"  # below callbacks and settlement: a batch never delays them (docs/ARCHITECTURE.md §7)
RUN_JOB = "app.jobs.disbursement_batches.run_disbursement_batch"
_PENDING = "batches_to_dispatch"


def job_id(batch_no: str) -> str:
    return f"{queue_prefix()}batch-{batch_no}"


def after_commit(batch_no: str) -> None:
    on_commit.defer(_PENDING, batch_no)


def enqueue(batch_no: str) -> bool:
    try:
        queue(QUEUE).enqueue(RUN_JOB, batch_no, job_id=job_id(batch_no), job_timeout=6 * 3600,
                             result_ttl=3600, failure_ttl=7 * 86400)
        return True
    except RedisError:
        log.warning("batch %s: its run could not be queued (resumed by the schedule)", batch_no, exc_info=True)
        return False


@on_commit.handles(_PENDING)
def _dispatch_committed(batch_nos: list[str]) -> None:
    for batch_no in sorted(set(batch_nos)):
        enqueue(batch_no)
