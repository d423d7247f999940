"""Queue health for operators (docs/SCREENS.md ``/admin``): depths, failed jobs and workers per queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rq.worker import Worker

from .queues import QUEUE_NAMES, queue, redis_connection


@dataclass(frozen=True)
class QueueStat:
    name: str  # as in QUEUE_NAMES, without RQ_QUEUE_PREFIX
    key: str  # the queue's name in Redis, with the prefix
    queued: int  # waiting to run
    started: int  # running now
    scheduled: int  # waiting for a time (enqueue_in / retries)
    failed: int  # in the failed-job registry
    workers: int  # workers listening on this queue


@dataclass(frozen=True)
class QueueStats:
    queues: list[QueueStat]
    workers: int  # distinct workers listening on any of the app's queues

    @property
    def queued(self) -> int:
        return sum(q.queued for q in self.queues)

    @property
    def failed(self) -> int:
        return sum(q.failed for q in self.queues)

    def as_dict(self) -> dict:
        return {
            "queues": [q.__dict__.copy() for q in self.queues],
            "workers": self.workers, "queued": self.queued, "failed": self.failed,
        }


def queue_stats() -> QueueStats:
    """A snapshot of every app queue. Needs an app context; raises redis errors when Redis is down
    (callers that render a health page catch them)."""
    stats = []
    workers: set[str] = set()
    for name in QUEUE_NAMES:
        q = queue(name)
        listening = _live(Worker.all_keys(queue=q))
        workers.update(listening)
        stats.append(QueueStat(
            name=name, key=q.name, queued=q.count, started=q.started_job_registry.count,
            scheduled=q.scheduled_job_registry.count, failed=q.failed_job_registry.count,
            workers=len(listening),
        ))
    return QueueStats(queues=stats, workers=len(workers))


def _live(worker_keys: list[str]) -> list[str]:
    """Drop workers that died without unregistering: their hash expires with the worker TTL, but
    their name stays in the per-queue set until another worker's maintenance cleans it."""
    if not worker_keys:
        return []
    with redis_connection().pipeline() as pipe:
        for key in worker_keys:
            pipe.exists(key)
        alive = pipe.execute()
    return [k for k, ok in zip(worker_keys, alive, strict=True) if ok]


def queue_ages(now: datetime | None = None) -> dict[str, tuple[int, float]]:
    """Per queue (name without the prefix): how many jobs wait, and the age in seconds of the one
    that has waited longest (0 when none waits) — ``/metrics``. Raises redis errors."""
    now = now or datetime.now(UTC)
    found = {}
    for name in QUEUE_NAMES:
        q = queue(name)
        n = q.count
        oldest = 0.0
        first = q.get_job_ids(0, 1) if n else []
        job = q.fetch_job(first[0]) if first else None
        if job is not None and job.enqueued_at is not None:
            at = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
            oldest = max(0.0, (now - at).total_seconds())
        found[name] = (n, oldest)
    return found
