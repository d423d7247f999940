"""Events written to the outbox in the caller's transaction (transactional outbox). Every event's
type is one of the catalogue (``domain/event_types.EventType``); anything else is refused here.

The events of one transaction are written together, in the order emitted, in one statement just
before it commits (``commit_hooks.writes_before``; a rolled-back savepoint forgets its own): a
settlement's or a checkout's events cost one round trip. An event emitted with its own
``event_id`` is written at once instead, so that a second one fails where it is emitted.

Once a transaction that wrote events has committed, the functions registered with ``on_committed``
run (the webhooks area wakes its delivery: services/webhooks/wake.py); a write that commits outside
the session (the one-statement order create) says so with ``committed_elsewhere``."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa

from ...domain.enums import OutboxStatus
from ...domain.event_types import EventType
from ...extensions import db
from ...models import OutboxEvent
from ...models.types import now_utc
from . import commit_hooks

_COMMITTED = "outbox_events_committed"
_PENDING = "outbox_events"
_listeners: list[Callable[[], None]] = []

# Built once; the values are bound per call (no statement building or cache-key walk per insert).
_INSERT = sa.insert(OutboxEvent.__table__)


def event_row(event_type: EventType, aggregate_type: str, aggregate_id: str, payload: dict,
              event_id: str | None = None) -> dict:
    """The column values of one event (for callers that write it in a combined statement).
    Raises ValueError for a type that is not in the catalogue."""
    return {
        "event_id": event_id or f"evt_{uuid.uuid4().hex}", "event_type": EventType(event_type).value,
        "aggregate_type": aggregate_type, "aggregate_id": aggregate_id, "payload": payload,
        "status": OutboxStatus.PENDING,
        "created_at": now_utc(),
    }


def emit(event_type: EventType, aggregate_type: str, aggregate_id: str, payload: dict,
         event_id: str | None = None) -> str:
    """Add an event; a given ``event_id`` makes the event unique (a second insert fails, here)."""
    row = event_row(event_type, aggregate_type, aggregate_id, payload, event_id)
    if event_id is None:
        insert_row(row)
    else:
        db.session.execute(_INSERT, row)
        commit_hooks.defer(_COMMITTED, None)
    return row["event_id"]


def insert_row(row: dict) -> None:
    """Add an event built by ``event_row`` to the caller's transaction."""
    commit_hooks.defer(_PENDING, row)


@commit_hooks.writes_before(_PENDING)
def _write_emitted(rows: list[dict]) -> None:
    db.session.execute(_INSERT, rows)
    commit_hooks.defer(_COMMITTED, None)  # this transaction wrote events: announce its commit


def on_committed(listener: Callable[[], None]) -> None:
    """Call ``listener`` after each commit that wrote events (once per transaction)."""
    if listener not in _listeners:
        _listeners.append(listener)


def committed_elsewhere() -> None:
    """Events were committed by a statement outside the session (``orders/writer_pg.py``)."""
    for listener in _listeners:
        listener()


@commit_hooks.handles(_COMMITTED)
def _announce(_items: list) -> None:
    committed_elsewhere()


def insert_rows(rows: list[dict]) -> None:
    """Add events built by ``event_row``, in this order, to the caller's transaction."""
    for row in rows:
        insert_row(row)
