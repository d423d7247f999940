"""The audit chain's verification, run on demand by the worker (``app.jobs.maintenance``), and its
last result. The result is one JSON value in Redis (``<RQ_QUEUE_PREFIX>audit:chain:last``): it is a
cache of a recomputation, not a record (the chain itself is the record), so no table is needed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from rq.job import Job

from ...models.types import now_utc
from ..audit import log as audit
from ..platform.queues import queue, queue_prefix, redis_connection


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    unsealed: int
    sealed: int
    problem: str | None
    at: datetime  # when the verification finished (UTC)


def _key() -> str:
    return f"{queue_prefix()}audit:chain:last"


def run_and_store() -> ChainCheck:
    """Seal pending entries, recompute the whole chain and keep the result with its time."""
    sealed = audit.seal()
    report = audit.verify()
    result = ChainCheck(report.ok, report.checked, report.unsealed, sealed, report.problem, now_utc())
    data = asdict(result) | {"at": result.at.isoformat()}
    redis_connection().set(_key(), json.dumps(data))
    return result


def last_check() -> ChainCheck | None:
    raw = redis_connection().get(_key())
    if raw is None:
        return None
    data = json.loads(raw)  # type: ignore[arg-type]  # a sync client returns bytes
    return ChainCheck(data["ok"], data["checked"], data["unsealed"], data["sealed"], data["problem"],
                      datetime.fromisoformat(data["at"]))


def enqueue_check() -> Job:
    """Ask the worker to verify the chain now (queue ``low``: it reads the whole log)."""
    return queue("low").enqueue("app.jobs.maintenance.verify_audit_chain", job_timeout=3600,
                                result_ttl=3600, failure_ttl=7 * 86400)
