"""Redis and RQ queues. Every queue uses the JSON serializer (never pickle), and workers run only
functions defined in the app's own job modules, ``app.jobs.*`` (docs/SECURITY.md): a job names its
function by import path, so whoever can write to Redis could otherwise run any importable callable.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from flask import current_app, has_app_context
from redis import Redis
from redis.client import Pipeline
from rq import Queue, cron_job_registry
from rq.cron import CronJob, CronScheduler
from rq.defaults import DEFAULT_CRON_JOB_HISTORY_LIMIT, DEFAULT_CRON_JOB_HISTORY_TTL
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.types import FailureCallbackType, SuccessCallbackType

from ...extensions import db

# Highest priority first: a worker always drains the earlier queues before the later ones.
# ``documents`` (PDF rendering, services/documents) is last: a month-end run of statements waits
# behind every compensation, expiry and export job, never in front of one.
QUEUE_NAMES = ("high", "default", "low", "documents")
JOB_PACKAGE = "app.jobs"
_DOTTED = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
_connections: dict[str, Redis] = {}


class JobRefused(Exception):
    """A job names something other than a public function of an ``app.jobs`` module; the worker
    fails it without importing anything outside ``app.jobs``."""


def redis_connection() -> Redis:
    url = current_app.config["REDIS_URL"]
    conn = _connections.get(url)
    if conn is None:
        conn = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        _connections[url] = conn
    return conn


def queue_prefix() -> str:
    return current_app.config.get("RQ_QUEUE_PREFIX", "")


def queue(name: str = "default") -> Queue:
    """The named queue (one of QUEUE_NAMES), prefixed with RQ_QUEUE_PREFIX."""
    return Queue(queue_prefix() + name, connection=redis_connection(), serializer=JSONSerializer,
                 job_class=AppJob)


_LIVE = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def job_live(job_id: str) -> bool:
    """True while the job waits in its queue, runs, or waits for a retry (so a second one is not
    needed); False when RQ no longer knows it."""
    try:
        job = Job.fetch(job_id, connection=redis_connection(), serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in _LIVE


def all_queues() -> list[Queue]:
    return [queue(name) for name in QUEUE_NAMES]


def resolve_job_function(func_name: str | None) -> Callable[..., Any]:
    """The function ``func_name`` names, if it is a plain function defined in a module under
    ``app.jobs``; raises JobRefused otherwise. The name is checked before anything is imported, and
    the resolved object after, so that names reaching through a job module's imports
    (``app.jobs.x.os.system``) or private helpers are refused too."""
    if not func_name or not _DOTTED.match(func_name) or not func_name.startswith(JOB_PACKAGE + "."):
        raise JobRefused(f"refused job function {func_name!r}: only functions in {JOB_PACKAGE}.* may run")
    module_name, _, attr = func_name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise JobRefused(f"refused job function {func_name!r}: no module {module_name}") from None
    func = getattr(module, attr, None)
    if (
        not inspect.isfunction(func)
        or attr.startswith("_")
        or func.__module__ != module_name
        or func.__qualname__ != attr
    ):
        raise JobRefused(f"refused job function {func_name!r}: not a public function defined in {module_name}")
    return func


class AppJob(Job):
    """The job class of every queue and worker: resolves functions (and callbacks) only under
    ``app.jobs``, and ends the job's database session after it ran, so that one job's failed
    transaction never leaks into the next (the worker keeps one app context for its lifetime)."""

    @property
    def func(self) -> Callable[..., Any]:
        if self.instance is not None:
            raise JobRefused("refused job: method calls on objects are not allowed")
        return resolve_job_function(self.func_name)

    @property
    def success_callback(self) -> SuccessCallbackType | None:
        if self._success_callback_name:
            resolve_job_function(self._success_callback_name)
        return super().success_callback

    @property
    def failure_callback(self) -> FailureCallbackType | None:
        if self._failure_callback_name:
            resolve_job_function(self._failure_callback_name)
        return super().failure_callback

    @property
    def stopped_callback(self) -> Callable[[Job, Redis], Any] | None:
        if self._stopped_callback_name:
            resolve_job_function(self._stopped_callback_name)
        return super().stopped_callback

    def perform(self) -> Any:
        try:
            return super().perform()
        finally:
            if has_app_context():
                db.session.remove()


class JSONCronJob(CronJob):
    """A cron entry that enqueues with the JSON serializer. RQ 3.0's ``CronJob.enqueue`` builds a
    plain ``Queue`` (pickle) whatever ``rq cron --serializer`` says; this is the same method with
    the app's queue settings. With ``last_runs_key`` the entry's last run is written in the same
    MULTI/EXEC as its job: a scheduler killed between the two can neither lose the record (and run
    the entry again after a restart) nor record a run that was never enqueued."""

    last_runs_key: str | None = None

    @property
    def job_history_key(self) -> str:
        """The entry's history, per queue (so per RQ_QUEUE_PREFIX: deployments and test runs sharing
        a Redis keep their own)."""
        return f"rq:cron_job:{self.queue_name}:{self.name}:jobs"

    def enqueue(self, connection: Redis) -> Job:
        if not self.func:
            raise ValueError("this cron entry has no function to enqueue")
        q = Queue(self.queue_name, connection=connection, serializer=JSONSerializer, job_class=AppJob)
        with connection.pipeline() as pipe:
            job = q.enqueue(self.func, args=self.args, kwargs=self.kwargs, **self.job_options, pipeline=pipe)
            assert job.enqueued_at is not None  # enqueue stamps it
            stamp = job.enqueued_at.timestamp()
            # The history that `rq` dashboards show for a cron entry, kept as RQ keeps it.
            pipe.zadd(self.job_history_key, {job.id: stamp})
            pipe.zremrangebyrank(self.job_history_key, 0, -(DEFAULT_CRON_JOB_HISTORY_LIMIT + 1))
            pipe.expire(self.job_history_key, DEFAULT_CRON_JOB_HISTORY_TTL)
            cron_job_registry.add(self.name, pipe, enqueue_timestamp=stamp)
            if self.last_runs_key:
                pipe.hset(self.last_runs_key, self.name, str(stamp))
            pipe.execute()
        return job


class AppCronScheduler(CronScheduler):
    """``rq cron``'s scheduler, loading the same config module (``app.jobs.cron``), enqueueing JSON
    jobs and refusing at load time any entry the worker would refuse at run time.

    One schedule, however many schedulers run: only the holder of a Redis lease (``cron:leader``,
    renewed on every turn, LEADER_TTL seconds) enqueues; any other waits as a standby and takes
    over when the lease lapses (the leader was killed). Every entry's last run is kept in Redis
    (``cron:last``), and a scheduler that becomes leader continues from it, so a restart neither
    runs every entry again at once nor skips one."""

    LEADER_TTL = 15
    STANDBY_POLL = 3.0

    def __init__(self, *args: Any, key_prefix: str = "", **kwargs: Any) -> None:
        self._leader_key = f"{key_prefix}cron:leader"
        self._last_key = f"{key_prefix}cron:last"  # before super(): loading the config registers entries
        self._leader = False
        super().__init__(*args, **kwargs)

    # Options by name only: rq's config loader calls register(**entry).
    def register(self, func: Callable[..., Any], queue_name: str, **options: Any) -> CronJob:  # type: ignore[override]
        resolve_job_function(f"{func.__module__}.{func.__qualname__}")
        entry = JSONCronJob(queue_name=queue_name, func=func, **options)
        entry.last_runs_key = self._last_key
        self._cron_jobs.append(entry)
        every = f"every {entry.interval} s" if entry.interval else f"at '{entry.cron}'"
        self.log.info("Registered %s on %s %s", entry.func_name, queue_name, every)
        return entry

    def _hold_lease(self) -> bool:
        """Take the lease if it is free, renew it if it is ours; True while we lead."""
        held = self.connection.eval(_LEASE_SCRIPT, 1, self._leader_key, self.name, self.LEADER_TTL * 1000)
        leading = bool(held)
        if leading and not self._leader:
            self.log.info("CronScheduler %s: leading the schedule", self.name)
            self._continue_from_last_runs()
        elif not leading and self._leader:
            self.log.warning("CronScheduler %s: lost the lease; standing by", self.name)
        self._leader = leading
        return leading

    def _continue_from_last_runs(self) -> None:
        # redis-py types its sync and asyncio clients alike (a result or an awaitable); this one is sync.
        stored = cast(dict, self.connection.hgetall(self._last_key))
        for entry in self._cron_jobs:
            last = stored.get(entry.name.encode()) or stored.get(entry.name)
            if last:
                entry.latest_enqueue_time = datetime.fromtimestamp(float(last), tz=UTC)
                entry.next_enqueue_time = entry.get_next_enqueue_time()

    def enqueue_jobs(self) -> list[CronJob]:
        if not self._hold_lease():
            return []
        return super().enqueue_jobs()  # each entry records its last run with its job (JSONCronJob)

    def calculate_sleep_interval(self) -> float:
        # A standby looks for a lapsed lease often; a leader renews it well within its TTL.
        return min(super().calculate_sleep_interval(), self.STANDBY_POLL if not self._leader else self.LEADER_TTL / 3)

    def register_death(self, pipeline: Pipeline | None = None) -> None:
        if self._leader:  # hand the schedule over at once on a clean stop
            self.connection.eval(_RELEASE_SCRIPT, 1, self._leader_key, self.name)
        super().register_death(pipeline)


# Take the lease when free, or extend it when we hold it (atomically).
_LEASE_SCRIPT = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
