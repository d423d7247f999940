"""``python worker.py cron`` runs one schedule however many schedulers are started (issue 11): a
killed scheduler restarted does not run its entries again before they are due, and a second one
started by mistake stands by instead of enqueueing the same entries twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from app.services.platform.queues import redis_connection

REPO = Path(__file__).resolve().parents[2]
# app.jobs.cron: every 300 s on "low" (a second run within the test would be a double schedule);
# every 5 s on "default" (shows that a scheduler is enqueueing at all).
SLOW = "app.jobs.payments.create_repayment_orders"
FAST = "app.jobs.webhooks.dispatch_outbox"


def _scheduler(app, database_url) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=app.config["REDIS_URL"],
               RQ_QUEUE_PREFIX=app.config["RQ_QUEUE_PREFIX"], LOG_LEVEL="WARNING")
    return subprocess.Popen([sys.executable, "worker.py", "cron"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _enqueued(app, queue_name: str, func_name: str) -> int:
    """How many times the entry was enqueued (its history; queued jobs may expire by their ttl)."""
    return redis_connection().zcard(f"rq:cron_job:{app.config['RQ_QUEUE_PREFIX']}{queue_name}:{func_name}:jobs")


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


@pytest.fixture
def clean_queues(ctx, app):
    prefix = app.config["RQ_QUEUE_PREFIX"]
    conn = redis_connection()
    for name in ("high", "default", "low"):
        Queue(prefix + name, connection=conn, serializer=JSONSerializer).empty()
    conn.delete(f"{prefix}cron:leader", f"{prefix}cron:last", *conn.keys(f"rq:cron_job:{prefix}*"))
    yield
    for name in ("high", "default", "low"):
        Queue(prefix + name, connection=conn, serializer=JSONSerializer).empty()
    conn.delete(f"{prefix}cron:leader", f"{prefix}cron:last", *conn.keys(f"rq:cron_job:{prefix}*"))


def _stop(*processes: subprocess.Popen) -> None:
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def test_a_killed_scheduler_restarted_continues_the_schedule(app, database_url, clean_queues):
    first = _scheduler(app, database_url)
    second = None
    try:
        _wait(lambda: _enqueued(app, "low", SLOW) == 1 and _enqueued(app, "default", FAST) >= 1, 30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        fast_before = _enqueued(app, "default", FAST)
        second = _scheduler(app, database_url)
        # The lease of the killed one lapses (15 s); then the new one leads and keeps enqueueing.
        _wait(lambda: _enqueued(app, "default", FAST) >= fast_before + 2, 45)
        assert _enqueued(app, "low", SLOW) == 1  # not run again: it is due in 300 s
    finally:
        _stop(first, *(p for p in (second,) if p))


def test_two_schedulers_at_once_enqueue_each_entry_once(app, database_url, clean_queues):
    a, b = _scheduler(app, database_url), _scheduler(app, database_url)
    try:
        _wait(lambda: _enqueued(app, "default", FAST) >= 3, 40)
        assert _enqueued(app, "low", SLOW) == 1
        fast = _enqueued(app, "default", FAST)
        time.sleep(5)
        assert _enqueued(app, "default", FAST) - fast <= 2  # one every 5 s, not two
    finally:
        _stop(a, b)


def test_an_entry_records_its_last_run_in_the_same_transaction_as_its_job(app, clean_queues):
    """What a restarted leader continues from (``cron:last``) is written with the job itself, so a
    scheduler killed right after enqueueing cannot leave a run unrecorded (and have it run again)."""
    from app.jobs.payments import create_repayment_orders
    from app.services.platform.queues import JSONCronJob

    prefix = app.config["RQ_QUEUE_PREFIX"]
    conn = redis_connection()
    entry = JSONCronJob(queue_name=f"{prefix}low", func=create_repayment_orders, interval=300)
    entry.last_runs_key = f"{prefix}cron:last"
    job = entry.enqueue(conn)
    assert float(conn.hget(f"{prefix}cron:last", entry.name)) == job.enqueued_at.timestamp()
    assert _enqueued(app, "low", SLOW) == 1
