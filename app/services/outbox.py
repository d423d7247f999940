"""Events written to the outbox in the caller's transaction (transactional outbox)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from ..extensions import db
from ..models import OutboxEvent
from ..models.types import now_utc


def emit(event_type: str, aggregate_type: str, aggregate_id: str, payload: dict) -> str:
    event_id = f"evt_{uuid.uuid4().hex}"
    db.session.execute(
        sa.insert(OutboxEvent).values(
            event_id=event_id, event_type=event_type, aggregate_type=aggregate_type,
            aggregate_id=aggregate_id, payload=payload, status="PENDING", created_at=now_utc(),
        )
    )
    return event_id
