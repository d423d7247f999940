"""How far a run (one channel's day) has got, for the live view of /finance/reconciliation: the
``progress`` of its row, written in small transactions of their own as the work goes, so that another
request reads it while the run works.

``stage`` is one of ``STAGES``: QUEUED (asked for, waits for the worker), WAITING (the channel has
not published the statement yet: the job is retried with backoff), FETCHING (reading the statement
or the ledger), SETTLING (what the channel saw succeed and we hold PROCESSING is being settled:
``settled`` of ``toSettle``), MATCHING (the one SQL computation), then DONE or FAILED (``error``).
With it: ``lines`` (the statement's lines), ``at`` (when it was written). Only a run that exists
is marked: the first computation of a day creates its run (runs.py), a request from the screen
(``on_demand.py``) creates it QUEUED."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ...domain.enums import ReconRunStage
from ...extensions import db
from ...models import ReconciliationRun
from ...models.types import now_utc
from ..platform.unit_of_work import transaction
from . import queries

S = ReconRunStage
QUEUED, WAITING, FETCHING, SETTLING, MATCHING, DONE, FAILED = (
    S.QUEUED.value, S.WAITING.value, S.FETCHING.value, S.SETTLING.value, S.MATCHING.value, S.DONE.value,
    S.FAILED.value)
STAGES = tuple(s.value for s in ReconRunStage)
ACTIVE = frozenset({QUEUED, WAITING, FETCHING, SETTLING, MATCHING})
ERROR_LENGTH = 200


def stamped(stage: str, **counts: int | str) -> dict:
    return {"stage": stage, **counts, "at": now_utc().isoformat()}


def mark(channel_id: int, day: date, stage: str, **counts: int | str) -> None:
    """Write the run's stage (and counts), keeping the counts written before; nothing when the run
    does not exist yet. Its own transaction: call it outside any other."""
    with transaction():
        run = db.session.scalar(sa.select(ReconciliationRun).where(ReconciliationRun.channel_id == channel_id,
                                                                   ReconciliationRun.day == day))
        if run is not None:
            earlier = {k: v for k, v in (run.progress or {}).items() if k not in ("stage", "at", "error")}
            run.progress = {**earlier, **stamped(stage, **counts)}


def stage_of(run: ReconciliationRun) -> str:
    """The run's stage; a run computed before progress was kept is DONE."""
    return str((run.progress or {}).get("stage") or DONE)


def is_active(run: ReconciliationRun) -> bool:
    return stage_of(run) in ACTIVE


@dataclass(frozen=True)
class RunView:
    run: ReconciliationRun
    stage: str
    progress: dict
    active: bool


def live_runs(day: date | None = None) -> list[RunView]:
    """The screen's runs (queries.recent_runs) with how far each has got."""
    return [RunView(r, stage_of(r), dict(r.progress or {}), is_active(r)) for r in queries.recent_runs(day)]
