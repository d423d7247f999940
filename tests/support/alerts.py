"""Reading alerts in tests (app/services/alerts)."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Alert


def alerts_of(kind: str) -> list[tuple[str, str, int]]:
    """(subject, state, count) of every alert of ``kind``, oldest first."""
    return [tuple(r) for r in db.session.execute(  # type: ignore[misc]
        sa.select(Alert.subject, Alert.state, Alert.count).where(Alert.kind == kind).order_by(Alert.id))]
