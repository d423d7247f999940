"""Redis and RQ queues. Every queue uses the JSON serializer (never pickle)."""

from __future__ import annotations

from flask import current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

QUEUE_NAMES = ("high", "default", "low")
_connections: dict[str, Redis] = {}


def redis_connection() -> Redis:
    url = current_app.config["REDIS_URL"]
    conn = _connections.get(url)
    if conn is None:
        conn = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        _connections[url] = conn
    return conn


def queue(name: str = "default") -> Queue:
    prefix = current_app.config.get("RQ_QUEUE_PREFIX", "")
    return Queue(prefix + name, connection=redis_connection(), serializer=JSONSerializer)
