"""PostgreSQL: the rows of a batch of deliveries in set-based statements, not one per row.

``delivery.py`` decides everything (which endpoints an event goes to, each outcome's new state,
the retry time); this module writes those decisions in the caller's transaction:

- ``insert_deliveries``: a fan-out batch's (event, endpoint) pairs in one INSERT from two arrays
  (a pair already there is skipped: (event, endpoint) is unique), and its events DISPATCHED, in
  one statement;
- ``record_results``: every outcome of a sent batch, in one statement: the deliveries this worker
  still holds (PENDING, at the attempt it claimed: a lease that ran out and was taken over by
  another worker is left alone) are locked in id order — the order every other writer of these
  rows locks them in — and updated from the batch's rows, and every attempt goes to the attempt
  log (those of a lost lease too: the POST did happen). Returns the deliveries updated.

The rows travel as one JSON document read with ``jsonb_to_recordset``, so the statement text is
fixed (prepared once per connection) whatever the batch size; the executemany it replaces ran one
UPDATE and one INSERT per delivery on the server. SQLite keeps the general path of ``delivery.py``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ...extensions import db
from ...serialization import json_dumps

_INSERT_DELIVERIES = sa.text("""
WITH added AS (
    INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at, created_at, updated_at)
    SELECT pair.event_id, pair.endpoint_id, 'PENDING', 0, :due, :stamp, :stamp
    FROM unnest(CAST(:event_ids AS bigint[]), CAST(:endpoint_ids AS bigint[])) AS pair(event_id, endpoint_id)
    ORDER BY pair.event_id, pair.endpoint_id
    ON CONFLICT (event_id, endpoint_id) DO NOTHING
), dispatched AS (
    UPDATE outbox_events SET status = 'DISPATCHED', dispatched_at = :due
    WHERE id = ANY(CAST(:all_event_ids AS bigint[]))
)
SELECT 1
""")

_RECORD = sa.text("""
WITH result AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        id bigint, attempt_no integer, status text, next_attempt_at timestamptz, delivered_at timestamptz,
        status_code integer, error text, requested_at timestamptz, duration_ms integer, excerpt text)
), held AS (
    SELECT d.id, d.attempts FROM webhook_deliveries d JOIN result ON result.id = d.id AND d.attempts = result.attempt_no
    WHERE d.status = 'PENDING'
    ORDER BY d.id
    FOR UPDATE OF d
), updated AS (
    UPDATE webhook_deliveries d
    SET status = result.status, next_attempt_at = result.next_attempt_at, delivered_at = result.delivered_at,
        last_status_code = result.status_code, last_error = result.error, updated_at = :stamp
    FROM held JOIN result ON result.id = held.id AND result.attempt_no = held.attempts
    WHERE d.id = held.id
    RETURNING d.id, d.endpoint_id, held.attempts
), logged AS (
    INSERT INTO webhook_attempts (delivery_id, attempt_no, requested_at, duration_ms, status_code, error,
                                  response_excerpt)
    SELECT id, attempt_no, requested_at, duration_ms, status_code, error, excerpt FROM result ORDER BY id
)
SELECT id, endpoint_id, attempts FROM updated
""")


def insert_deliveries(pairs: list[tuple[int, int]], event_ids: list[int], due: datetime, stamp: datetime) -> None:
    """Insert a PENDING delivery due at ``due`` for each (event id, endpoint id) pair that has none,
    and mark the events ``event_ids`` DISPATCHED at ``due``. In the caller's transaction."""
    db.session.execute(_INSERT_DELIVERIES, {"event_ids": [e for e, _ in pairs], "endpoint_ids": [p for _, p in pairs],
                                            "all_event_ids": event_ids, "due": due, "stamp": stamp})


def record_results(rows: list[dict], stamp: datetime) -> dict[int, tuple[int, int]]:
    """Apply each row (``id``, ``attempt_no``, the new ``status``, ``next_attempt_at``,
    ``delivered_at``, the attempt's ``status_code``, ``error``, ``requested_at``, ``duration_ms``,
    ``excerpt``) to its delivery if this worker still holds it, and log every attempt. Returns
    {delivery id: (endpoint id, attempt applied)} of the deliveries updated. In the caller's transaction."""
    found = db.session.execute(_RECORD, {"rows": json_dumps(rows), "stamp": stamp}).all()
    return {row.id: (row.endpoint_id, row.attempts) for row in found}
