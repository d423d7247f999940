"""The RQ worker on a real Redis (TEST_REDIS_URL): it runs app.jobs functions inside the app
context, refuses every other function (and pickled jobs), the scheduler enqueues JSON, and
queue_stats() counts what is there."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue
from rq.job import JobStatus
from rq.worker import SimpleWorker

from app.extensions import db
from app.models import AuditEntry
from app.services.audit import log as audit
from app.services.platform.actor import Actor
from app.services.platform.queue_stats import queue_stats
from app.services.platform.queues import (
    QUEUE_NAMES,
    AppCronScheduler,
    JobRefused,
    queue,
    redis_connection,
    resolve_job_function,
)
from worker import JobIdFilter, build_worker

ACTOR = Actor(type="system", id="test-worker")
SEAL = "app.jobs.maintenance.seal_audit_log"
CALLS: list[str] = []


def not_a_job() -> str:
    """Importable and harmless, but outside app.jobs: the worker must never call it."""
    CALLS.append("called")
    return "ran"


def _empty(conn: Redis, prefix: str) -> None:
    for key in conn.scan_iter(match=f"*{prefix}*", count=500):
        conn.delete(key)


@pytest.fixture
def rq_queues(ctx, app):
    """The app's queues, empty before and after; signal handlers the worker installs are restored."""
    conn = redis_connection()
    prefix = app.config["RQ_QUEUE_PREFIX"]
    assert prefix.startswith("test-"), "tests must not touch real queues"
    _empty(conn, prefix)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    CALLS.clear()
    yield {name: queue(name) for name in QUEUE_NAMES}
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    _empty(conn, prefix)


def _payload(job_key: str) -> bytes:
    """A job's ``data`` field as the serializer wrote it (RQ zlib-compresses it)."""
    raw = redis_connection().hget(job_key, "data")
    try:
        return zlib.decompress(raw)
    except zlib.error:
        return raw


def _unsealed() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.chain_seq.is_(None)))


def _record_audit_rows(n: int) -> None:
    for i in range(n):
        audit.record(ACTOR, "thing.update", "thing", f"T{i}", {"v": i}, {"v": i + 1})
    db.session.commit()


def test_worker_runs_seal_job_inside_app_context(rq_queues):
    _record_audit_rows(3)
    assert _unsealed() == 3
    job = rq_queues["default"].enqueue(SEAL)

    worker = build_worker()
    assert isinstance(worker, SimpleWorker)  # the default: no fork per job
    assert worker.work(burst=True) is True

    job.refresh()
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value() == 3
    assert _unsealed() == 0
    report = audit.verify()
    assert report.ok and report.checked == 3


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_job_logs_are_stamped_with_the_job_id(rq_queues, caplog):
    caplog.set_level(logging.INFO, logger="app.jobs.maintenance")
    handler = _Collect()
    handler.addFilter(JobIdFilter())
    logger = logging.getLogger("app.jobs.maintenance")
    logger.addHandler(handler)
    try:
        _record_audit_rows(1)
        job = rq_queues["default"].enqueue(SEAL)
        build_worker().work(burst=True)
    finally:
        logger.removeHandler(handler)
    assert [(r.getMessage(), r.job_id) for r in handler.records] == [("sealed 1 audit entries", job.id)]


def test_job_data_is_json_not_pickle(rq_queues):
    job = rq_queues["high"].enqueue(SEAL)
    payload = _payload(job.key)
    assert payload.startswith(b'["app.jobs.maintenance.seal_audit_log",'), payload[:60]


@pytest.mark.parametrize("func", [not_a_job, "os.getcwd", "eval", "app.services.audit.seal",
                                  "app.jobs.maintenance.audit.seal", "app.jobs.cron.register"])
def test_worker_refuses_functions_outside_app_jobs(rq_queues, func):
    _record_audit_rows(1)
    job = rq_queues["default"].enqueue(func)

    build_worker().work(burst=True)

    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "JobRefused" in job.latest_result().exc_string
    assert CALLS == []
    assert _unsealed() == 1  # app.services.audit.seal did not run either
    assert rq_queues["default"].failed_job_registry.count == 1


def test_worker_never_unpickles_a_job(rq_queues, app):
    """A job written with RQ's default (pickle) serializer fails; nothing is unpickled or run."""
    _record_audit_rows(1)
    pickled = Queue(rq_queues["default"].name, connection=redis_connection())
    job = pickled.enqueue(SEAL)
    assert _payload(job.key).startswith(b"\x80")  # a pickle

    build_worker().work(burst=True)

    assert _unsealed() == 1
    assert rq_queues["default"].count == 0
    assert job.id in rq_queues["default"].failed_job_registry.get_job_ids()


@pytest.mark.parametrize("name", [
    "os.system", "eval", "app.jobs.maintenance.audit", "app.jobs.maintenance.audit.seal",
    "app.jobs.maintenance.idempotency.purge_expired", "app.jobs.cron.register", "app.jobs.cron.os.system",
    "app.jobs.maintenance.__dict__", "app.jobs.maintenance.seal_audit_log.__call__", "app.jobs.nope.x", "", None,
])
def test_resolve_job_function_refuses(name):
    with pytest.raises(JobRefused):
        resolve_job_function(name)


def test_resolve_job_function_allows_job_entry_points():
    from app.jobs import maintenance

    assert resolve_job_function(SEAL) is maintenance.seal_audit_log
    assert resolve_job_function("app.jobs.maintenance.purge_idempotency_keys") is maintenance.purge_idempotency_keys


def test_scheduler_enqueues_json_jobs_the_worker_runs(rq_queues, app, monkeypatch):
    """``python worker.py cron``: the app.jobs.cron schedule, enqueued as JSON, run by the worker."""
    monkeypatch.setenv("RQ_QUEUE_PREFIX", app.config["RQ_QUEUE_PREFIX"])
    _record_audit_rows(2)
    # The lease and the last runs under this session's prefix, as worker.py does: a run of this test
    # minutes earlier (its last runs kept in Redis) must not make the entries look not yet due.
    scheduler = AppCronScheduler(connection=redis_connection(), key_prefix=app.config["RQ_QUEUE_PREFIX"])
    scheduler.load_config_from_file("app.jobs.cron")
    by_func = {entry.func_name: entry for entry in scheduler.get_jobs()}
    assert by_func[SEAL].interval == 10 and by_func[SEAL].queue_name == rq_queues["default"].name
    assert by_func["app.jobs.maintenance.purge_idempotency_keys"].cron

    enqueued = scheduler.enqueue_jobs()  # interval entries are due at once, the hourly ones are not
    intervals = sorted(e.func_name for e in scheduler.get_jobs() if e.interval)
    assert sorted(e.func_name for e in enqueued) == intervals and SEAL in intervals
    for job_id in rq_queues["default"].job_ids:
        assert _payload(f"rq:job:{job_id}").startswith(b"[")

    build_worker().work(burst=True)
    assert _unsealed() == 0
    for entry in scheduler.get_jobs():
        redis_connection().delete(entry.job_history_key)
    prefix = app.config["RQ_QUEUE_PREFIX"]
    redis_connection().delete(f"{prefix}cron:leader", f"{prefix}cron:last")


def test_queue_stats_counts_depths_failures_and_workers(rq_queues):
    rq_queues["low"].enqueue("app.jobs.maintenance.purge_idempotency_keys")
    rq_queues["low"].enqueue("app.jobs.maintenance.purge_idempotency_keys")
    rq_queues["high"].enqueue("os.getcwd")
    build_worker(["high"]).work(burst=True)  # fails the refused job, leaves "low" alone

    idle = build_worker(name=f"idle-{rq_queues['low'].name}")
    idle.register_birth()
    try:
        stats = queue_stats()
    finally:
        idle.register_death()

    by_name = {q.name: q for q in stats.queues}
    assert list(by_name) == list(QUEUE_NAMES)
    assert by_name["low"].queued == 2 and by_name["low"].failed == 0
    assert by_name["high"].queued == 0 and by_name["high"].failed == 1
    assert by_name["default"].queued == 0 and by_name["default"].failed == 0
    assert by_name["low"].key == rq_queues["low"].name
    assert stats.workers == 1 and by_name["default"].workers == 1
    assert stats.queued == 2 and stats.failed == 1
    assert stats.as_dict()["queues"][0]["name"] == "high"
    assert queue_stats().workers == 0  # gone after its death


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_scheduler_process_stops_when_its_worker_is_killed(rq_queues, app, database_url):
    """``kill -9`` of a worker must not leave RQ's scheduler process (its child) running forever."""
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=app.config["REDIS_URL"],
               RQ_QUEUE_PREFIX=app.config["RQ_QUEUE_PREFIX"])
    repo = Path(__file__).resolve().parents[2]
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=repo, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scheduler = None
    try:
        deadline = time.monotonic() + 30
        while scheduler is None and time.monotonic() < deadline:
            kids = _children(worker.pid)
            scheduler = kids[0] if kids else None
            time.sleep(0.1)
        assert scheduler is not None, "the worker started no scheduler process"
    finally:
        worker.kill()
        worker.wait(10)
    deadline = time.monotonic() + 20
    while _alive(scheduler) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(scheduler):
        os.kill(scheduler, signal.SIGKILL)
        pytest.fail("the scheduler process outlived its worker")
