"""Redis and RQ queues. Every queue uses the JSON serializer (never pickle), and workers run only
functions defined in the app's own job modules, ``app.jobs.*`` (docs/SECURITY.md): a job names its
function by import path, so whoever can write to Redis could otherwise run any importable callable.
"""

from __future__ import annotations

import importlib
import inspect
import re

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue, cron_job_registry
from rq.cron import CronJob, CronScheduler
from rq.defaults import DEFAULT_CRON_JOB_HISTORY_LIMIT, DEFAULT_CRON_JOB_HISTORY_TTL
from rq.job import Job
from rq.serializers import JSONSerializer

from ...extensions import db

# Highest priority first: a worker always drains the earlier queues before the later ones.
QUEUE_NAMES = ("high", "default", "low")
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


def all_queues() -> list[Queue]:
    return [queue(name) for name in QUEUE_NAMES]


def resolve_job_function(func_name: str | None):
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
    def func(self):
        if self.instance is not None:
            raise JobRefused("refused job: method calls on objects are not allowed")
        return resolve_job_function(self.func_name)

    @property
    def success_callback(self):
        if self._success_callback_name:
            resolve_job_function(self._success_callback_name)
        return super().success_callback

    @property
    def failure_callback(self):
        if self._failure_callback_name:
            resolve_job_function(self._failure_callback_name)
        return super().failure_callback

    @property
    def stopped_callback(self):
        if self._stopped_callback_name:
            resolve_job_function(self._stopped_callback_name)
        return super().stopped_callback

    def perform(self):
        try:
            return super().perform()
        finally:
            if has_app_context():
                db.session.remove()


class JSONCronJob(CronJob):
    """A cron entry that enqueues with the JSON serializer. RQ 3.0's ``CronJob.enqueue`` builds a
    plain ``Queue`` (pickle) whatever ``rq cron --serializer`` says; this is the same method with
    the app's queue settings."""

    def enqueue(self, connection: Redis) -> Job:
        if not self.func:
            raise ValueError("this cron entry has no function to enqueue")
        q = Queue(self.queue_name, connection=connection, serializer=JSONSerializer, job_class=AppJob)
        with connection.pipeline() as pipe:
            job = q.enqueue(self.func, args=self.args, kwargs=self.kwargs, **self.job_options, pipeline=pipe)
            stamp = job.enqueued_at.timestamp()
            # The history that `rq` dashboards show for a cron entry, kept as RQ keeps it.
            pipe.zadd(self.job_history_key, {job.id: stamp})
            pipe.zremrangebyrank(self.job_history_key, 0, -(DEFAULT_CRON_JOB_HISTORY_LIMIT + 1))
            pipe.expire(self.job_history_key, DEFAULT_CRON_JOB_HISTORY_TTL)
            cron_job_registry.add(self.name, pipe, enqueue_timestamp=stamp)
            pipe.execute()
        return job


class AppCronScheduler(CronScheduler):
    """``rq cron``'s scheduler, loading the same config module (``app.jobs.cron``), but enqueueing
    JSON jobs and refusing at load time any entry the worker would refuse at run time."""

    def register(self, func, queue_name: str, **options) -> CronJob:
        resolve_job_function(f"{func.__module__}.{func.__qualname__}")
        entry = JSONCronJob(queue_name=queue_name, func=func, **options)
        self._cron_jobs.append(entry)
        every = f"every {entry.interval} s" if entry.interval else f"at '{entry.cron}'"
        self.log.info("Registered %s on %s %s", entry.func_name, queue_name, every)
        return entry
