"""The ``/admin`` health snapshot: database, Redis, queue depths, workers with their last heartbeat,
failed jobs, dead webhook deliveries and disabled endpoints, the audit chain's last verification.
Every probe is caught on its own: a page that reports a broken part must still render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from redis.exceptions import RedisError
from rq.worker import Worker

from ...domain.enums import DeliveryStatus
from ...extensions import db
from ...models import WebhookDelivery, WebhookEndpoint
from ..alerts.queries import open_by_kind
from ..platform.queue_stats import QueueStats, queue_stats
from ..platform.queues import QUEUE_NAMES, queue, redis_connection
from ..platform.unit_of_work import end_read
from .chain_check import ChainCheck, last_check


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    state: str
    queues: list[str]
    last_heartbeat: datetime | None


@dataclass
class Health:
    database_ok: bool = False
    redis_ok: bool = False
    queues: QueueStats | None = None
    workers: list[WorkerInfo] = field(default_factory=list)
    dead_deliveries: int | None = None
    disabled_endpoints: int | None = None
    chain: ChainCheck | None = None
    open_alerts: dict[str, int] | None = None  # unresolved alerts by kind

    @property
    def open_alert_count(self) -> int | None:
        return None if self.open_alerts is None else sum(self.open_alerts.values())


def _database(h: Health) -> None:
    try:
        db.session.execute(sa.text("SELECT 1"))
        h.dead_deliveries = db.session.scalar(
            sa.select(sa.func.count()).select_from(WebhookDelivery)
            .where(WebhookDelivery.status == DeliveryStatus.DEAD))
        h.disabled_endpoints = db.session.scalar(
            sa.select(sa.func.count()).select_from(WebhookEndpoint)
            .where(WebhookEndpoint.enabled.is_(False), WebhookEndpoint.deleted_at.is_(None)))
        h.open_alerts = open_by_kind()
        h.database_ok = True
    except sa.exc.SQLAlchemyError:
        h.database_ok = False
    finally:
        end_read()


def workers() -> list[WorkerInfo]:
    """Workers alive on any app queue (their registration has not expired), by name."""
    seen: dict[str, WorkerInfo] = {}
    prefix_len = len(queue().name) - len("default")
    for name in QUEUE_NAMES:
        for w in Worker.all(queue=queue(name)):
            if w.name in seen:
                continue
            seen[w.name] = WorkerInfo(w.name, str(w.state), [q.name[prefix_len:] for q in w.queues],
                                      w.last_heartbeat)
    return sorted(seen.values(), key=lambda w: w.name)


def _redis(h: Health) -> None:
    try:
        redis_connection().ping()
        h.redis_ok = True
        h.queues = queue_stats()
        h.workers = workers()
        h.chain = last_check()
    except RedisError:
        h.redis_ok = False


def snapshot() -> Health:
    h = Health()
    _database(h)
    _redis(h)
    return h
