"""Putting a document on the ``documents`` queue, once the row that asks for it is committed.

``after_commit(document_id)`` remembers the document in the current session; when that session's
transaction commits, the render job is enqueued (a rolled-back request enqueues nothing, and a
worker never looks for a row that is not there yet). If Redis cannot be reached the document stays
QUEUED and ``sweep`` enqueues it again later; the job itself is idempotent (``storage.claim``).

The queue is the lowest of all (``platform/queues.QUEUE_NAMES``): workers take its jobs only when
callbacks, settlement and the frequent schedule have none waiting (docs/ARCHITECTURE.md §7).
Only the worker imports WeasyPrint: the job is named by its import path, never imported here.
"""

from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError

from ..platform import commit_hooks as on_commit
from ..platform.queues import job_live, queue, queue_prefix

log = logging.getLogger(__name__)

QUEUE = "documents"
RENDER_JOB = "app.jobs.document_rendering.render_document"
_PENDING = "documents_to_dispatch"


def job_id(number: str) -> str:
    """The render job's id: RQ keeps job ids in one namespace per Redis, so it carries the queue
    prefix (deployments sharing a Redis) and the document's number (never reused, unlike a row id)."""
    return f"{queue_prefix()}document-{number}"


def after_commit(document_id: int, number: str) -> None:
    """Enqueue the render job of the document when the current transaction commits."""
    on_commit.defer(_PENDING, (document_id, number))


def enqueue(document_id: int, number: str) -> bool:
    """Put the render job on the queue now (unless it waits there already); False if Redis failed."""
    try:
        # a second job would only find the document claimed, but would hold a worker
        if job_live(job_id(number)):
            return True
        queue(QUEUE).enqueue(RENDER_JOB, document_id, job_id=job_id(number),
                             job_timeout=current_app.config.get("DOCUMENT_JOB_TIMEOUT", 900),
                             result_ttl=3600, failure_ttl=7 * 86400)
        return True
    except RedisError:
        log.warning("document %s stays QUEUED: the queue cannot be reached (the sweep enqueues it again)",
                    number, exc_info=True)
        return False


@on_commit.handles(_PENDING)
def _dispatch_committed(documents: list[tuple[int, str]]) -> None:
    for document_id, number in dict(documents).items():
        enqueue(document_id, number)
