"""Outbox delivery, enqueued after each commit that wrote events (services/webhooks/wake.py) and by
the scheduler every few seconds (``app.jobs.cron``)."""

from __future__ import annotations

import logging
import time

from ..services.webhooks import delivery as webhooks
from ..services.webhooks import wake

log = logging.getLogger(__name__)

FAN_OUT_BATCH = 500
DELIVER_BATCH = 100
# One tick works at most this long, then leaves the rest to the next tick, so that a backlog never
# turns one job into hours of work (and several workers can share it: rows are claimed, not held).
TIME_BUDGET_SECONDS = 60.0
MAX_FAN_OUT_BATCHES = 40


def dispatch_outbox() -> dict:
    """Fan committed outbox events out to their endpoints, then send every delivery that is due,
    batch after batch, within the time budget. Returns the counts."""
    started = time.monotonic()
    wake.woken()
    totals = {"events": webhooks.fan_out(batch=FAN_OUT_BATCH, max_batches=MAX_FAN_OUT_BATCHES),
              "claimed": 0, "delivered": 0, "retrying": 0, "dead": 0, "lease_lost": 0}
    with webhooks.sends() as via:  # one set of send threads and keep-alive connections for the job
        while time.monotonic() - started < TIME_BUDGET_SECONDS:
            counts = webhooks.deliver_due(batch=DELIVER_BATCH, via=via)
            for key, n in counts.items():
                totals[key] = totals.get(key, 0) + n
            if counts["claimed"] < DELIVER_BATCH:
                break
    if totals["events"] or totals["claimed"]:
        log.info("outbox: %s", totals)
    return totals
