"""An alert for admins and finance (docs/DOMAIN.md "Alerts"): one row per open condition, found by
``kind`` and ``subject`` (what it is about: a payment number, an endpoint id, a day and channel).
The same condition raised again while the alert is not resolved bumps ``count`` and
``last_seen_at``; once resolved, a new raise opens a new row. OPEN → ACKNOWLEDGED → RESOLVED (or
OPEN → RESOLVED), each step with who and when."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model
from .types import UTCDateTime, now_utc, sql_values


class AlertState(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


class AlertSeverity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class Alert(Model):
    __tablename__ = "alerts"
    __table_args__ = (
        sa.CheckConstraint(f"state IN {sql_values(AlertState)}", name="state"),
        sa.CheckConstraint(f"severity IN {sql_values(AlertSeverity)}", name="severity"),
        sa.CheckConstraint("count >= 1", name="count_positive"),
        # At most one unresolved alert per condition: the raise is an upsert on this index.
        sa.Index("uq_alerts_unresolved", "kind", "subject", unique=True,
                 postgresql_where=sa.text("state <> 'RESOLVED'"), sqlite_where=sa.text("state <> 'RESOLVED'")),
        sa.Index("ix_alerts_state_last_seen", "state", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    severity: Mapped[str] = mapped_column(sa.String(16), default=AlertSeverity.WARNING)
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    message: Mapped[str] = mapped_column(sa.String(500))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    state: Mapped[str] = mapped_column(sa.String(16), default=AlertState.OPEN)
    count: Mapped[int] = mapped_column(sa.Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(120))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledge_note: Mapped[str | None] = mapped_column(sa.String(500))
    resolved_by: Mapped[str | None] = mapped_column(sa.String(120))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str | None] = mapped_column(sa.String(500))
