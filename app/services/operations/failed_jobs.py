"""Failed jobs of every app queue (RQ's FailedJobRegistry): listed with the end of their traceback,
requeued or deleted by an admin, each action audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from ...domain.errors import NotFound
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.queues import QUEUE_NAMES, AppJob, queue, redis_connection
from ..platform.unit_of_work import transaction

TRACEBACK_LINES = 6
MAX_LISTED = 200


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str  # as in QUEUE_NAMES
    func_name: str
    ended_at: datetime | None
    error: str  # the last lines of the traceback


def _tail(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


def _fetch(job_id: str) -> Job | None:
    try:
        return AppJob.fetch(job_id, connection=redis_connection(), serializer=queue().serializer)
    except NoSuchJobError:
        return None


def list_failed() -> list[FailedJob]:
    """Every failed job of every app queue, newest first (at most MAX_LISTED)."""
    found: list[FailedJob] = []
    for name in QUEUE_NAMES:
        registry = queue(name).failed_job_registry
        for job_id in registry.get_job_ids(0, MAX_LISTED - 1):
            job = _fetch(job_id)
            if job is None:
                continue
            found.append(FailedJob(job.id, name, job.func_name or "", job.ended_at, _tail(job.exc_info)))
    found.sort(key=lambda j: j.ended_at.timestamp() if j.ended_at else 0, reverse=True)
    return found[:MAX_LISTED]


def _registry_of(job_id: str) -> tuple[str, FailedJobRegistry]:
    for name in QUEUE_NAMES:
        registry = queue(name).failed_job_registry
        if job_id in registry:
            return name, registry
    raise NotFound(f"no failed job {job_id}")


def requeue(job_id: str, actor: Actor) -> None:
    """Put a failed job back on its queue; NotFound if it is not a failed job of an app queue."""
    name, registry = _registry_of(job_id)
    job = _fetch(job_id)
    with transaction():
        audit.record(actor, "job.requeue", "job", job_id, before={"queue": name, "status": "failed"},
                     after={"queue": name, "status": "queued", "func": job.func_name if job else None})
        registry.requeue(job_id)  # inside: a refused requeue leaves no audit entry


def delete(job_id: str, actor: Actor) -> None:
    """Remove a failed job and its data; NotFound if it is not a failed job of an app queue."""
    name, registry = _registry_of(job_id)
    job = _fetch(job_id)
    with transaction():
        audit.record(actor, "job.delete", "job", job_id,
                     before={"queue": name, "status": "failed", "func": job.func_name if job else None},
                     after=None)
        if job is not None:
            job.delete(remove_from_queue=True)
        else:
            registry.remove(job_id)
