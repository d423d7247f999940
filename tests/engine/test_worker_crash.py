"""A worker killed in the middle of a job: the job is retried and its result is applied once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa
from rq.registry import StartedJobRegistry

from app.extensions import db
from app.models import ChannelPayment, OutboxEvent
from app.services.platform.queues import queue
from app.services.settlement import compensation
from sandbox.testing import wait_until
from tests.support.engine import check_invariants, checkout_online, detached, order

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _worker(app, *args) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               RQ_QUEUE_PREFIX=app.config["RQ_QUEUE_PREFIX"])
    return subprocess.Popen([sys.executable, "worker.py", "--queues", "high", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _settlement_job_whose_worker_was_killed(app, online, engine_setup):
    """A paid ONLINE payment (its callback dropped) whose refresh job a worker took and was SIGKILLed in,
    the job blocked mid-settlement on the payment's row (the whole database on SQLite) that the test held.
    Returns the orders' ids, the channel payment, the job, the started-job registry and the kill's
    monotonic time."""
    online.set_faults(drop_rate=1.0)
    pids, _res, cp = checkout_online(engine_setup)
    online.complete_payment(cp.channel_transaction_id, "SUCCESS")
    queue("high").empty()
    blocker = db.engine.connect()
    tx = blocker.begin()
    blocker.execute(sa.select(ChannelPayment.id).where(ChannelPayment.id == cp.id).with_for_update())
    if db.engine.dialect.name == "sqlite":
        blocker.execute(sa.text("UPDATE channel_payments SET updated_at = updated_at WHERE id = :i"), {"i": cp.id})
    job = compensation.enqueue_refresh(cp.id)
    worker = _worker(app)
    try:
        registry = StartedJobRegistry(queue=queue("high"))
        wait_until(lambda: job.id in registry.get_job_ids(), timeout=30)
        time.sleep(0.5)  # it is now inside the job, waiting for the lock
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed_at = time.monotonic()
    finally:
        tx.rollback()
        blocker.close()
    return pids, cp, job, registry, killed_at


def _check_settled_once(pids) -> None:
    assert [order(p).payment_status for p in pids] == ["PAID", "PAID"]
    succeeded = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event_type == "transaction.succeeded"))
    db.session.rollback()
    assert succeeded == 2
    check_invariants()


def test_killed_worker_job_is_retried_and_applied_once(app, online, engine_setup):
    pids, cp, job, registry, _killed_at = _settlement_job_whose_worker_was_killed(app, online, engine_setup)
    assert detached(db.session.get(ChannelPayment, cp.id)).status == "PROCESSING"

    # The next worker's maintenance finds the abandoned job and puts it back (its retry policy).
    registry.cleanup(timestamp=time.time() + 3600)
    job.refresh()
    assert job.get_status() in ("scheduled", "queued"), job.get_status()
    for job_id in queue("high").scheduled_job_registry.get_job_ids():
        queue("high").scheduled_job_registry.remove(job_id)
        queue("high").enqueue_job(queue("high").fetch_job(job_id))
    runner = _worker(app, "--burst")
    assert runner.wait(60) == 0
    db.session.expire_all()
    assert detached(db.session.get(ChannelPayment, cp.id)).status == "SUCCESS"
    _check_settled_once(pids)


def test_a_killed_workers_job_is_rerun_within_a_minute_with_no_help(app, online, engine_setup):
    """No registry cleanup by hand: another worker's maintenance finds the job whose worker died (its
    heartbeat lapsed), retries it, and the payment settles once, within a minute of the kill."""
    pids, cp, _job, _registry, killed_at = _settlement_job_whose_worker_was_killed(app, online, engine_setup)
    survivor = _worker(app)
    try:
        wait_until(lambda: detached(db.session.get(ChannelPayment, cp.id)).status == "SUCCESS", timeout=60)
        recovered_in = time.monotonic() - killed_at
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(20)
    assert recovered_in < 60, recovered_in
    _check_settled_once(pids)
