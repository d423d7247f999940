"""Delivery as soon as an event commits, not only at the scheduler's tick (every 5 s).

After a commit that wrote outbox events (``platform/outbox.on_committed``), ``wake`` puts one
``dispatch_outbox`` job on the queue unless one is already waiting: a Redis key set with NX marks
"a wake-up is queued" (its value: when), and the job clears it (``woken``) before it reads the
outbox. An event that commits before the key is cleared is read by that job; one that commits after
sets the key again and queues the next job — so no event waits for the tick, and a burst of commits
queues one job, not one per event. The job first lets ``COALESCE_SECONDS`` pass since the wake-up was
asked: at a steady stream of commits, jobs back to back (a few events each) took both cores of the
bench machine and slowed the committers 3x; this bounds the runs to about ten a second and costs
each event at most that long. The key expires (``KEY_SECONDS``) in case its job is lost; the tick
stays as the backstop when Redis cannot be reached. ``WEBHOOK_WAKE_ON_COMMIT = False`` turns this
off (tick only).
"""

from __future__ import annotations

import logging
import time
from typing import cast

from flask import current_app
from redis.exceptions import RedisError

from ..platform.queues import queue, queue_prefix, redis_connection

log = logging.getLogger(__name__)

DISPATCH_JOB = "app.jobs.webhooks.dispatch_outbox"
KEY_SECONDS = 30
COALESCE_SECONDS = 0.1


def _key() -> str:
    return f"{queue_prefix()}outbox-wake"


def wake() -> None:
    """Queue a delivery run unless one is queued already. Never raises: the tick covers a failure."""
    if not current_app.config.get("WEBHOOK_WAKE_ON_COMMIT", True):
        return
    try:
        if redis_connection().set(_key(), repr(time.time()), nx=True, ex=KEY_SECONDS):
            queue("default").enqueue(DISPATCH_JOB, job_timeout=300, ttl=KEY_SECONDS, result_ttl=0,
                                     failure_ttl=7 * 86400)
    except RedisError:
        log.warning("outbox wake-up not queued (Redis): the scheduler's tick delivers", exc_info=True)


def woken() -> None:
    """Called by the delivery job before it reads the outbox: waits until ``COALESCE_SECONDS`` after
    the wake-up was asked, then clears the mark, so that later commits queue the next run."""
    try:
        conn = redis_connection()
        asked = conn.get(_key())
        if asked is not None:
            wait = float(cast(bytes, asked)) + COALESCE_SECONDS - time.time()  # Unix seconds, not money
            if wait > 0:
                time.sleep(min(wait, COALESCE_SECONDS))
            conn.delete(_key())
    except RedisError:
        log.warning("outbox wake-up key not cleared (Redis): it expires in %s s", KEY_SECONDS, exc_info=True)
