"""Raising and clearing alerts (docs/DOMAIN.md "Alerts"), in the caller's transaction.

``raise_alert`` writes the alert row: a new one for a condition with no unresolved alert (then an
``alert.raised`` outbox event, a log line and the ``portal_alerts_raised_total`` counter), or one
more repeat of the unresolved one (``count`` and ``last_seen_at``; no event: receivers hear of a
condition once). It is one upsert on the unique index of unresolved alerts, so two processes that
raise the same condition at once never make two rows nor fail the caller's transaction.
``clear_alert`` resolves the unresolved alert of a condition that has cleared (by the system)."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from ...domain.event_types import EventType
from ...extensions import db
from ...metrics import ALERTS_RAISED
from ...models import Alert
from ...models.alert import AlertState
from ...models.types import now_utc
from ..platform import outbox, upsert
from ..platform.actor import SYSTEM, Actor
from ..platform.unit_of_work import rows_changed
from .kinds import severity_of

log = logging.getLogger("portal.alerts")

A = Alert.__table__
_UNRESOLVED = sa.text("state <> 'RESOLVED'")


def _subject(subject: str | None, details: dict[str, str]) -> str:
    if subject is not None:
        return subject[:200]
    return "&".join(f"{k}={v}" for k, v in sorted(details.items()))[:200]


def raise_alert(kind: str, message: str, *, subject: str | None = None, **details: object) -> int:
    """Raise (or repeat) the alert ``kind`` about ``subject`` (default: the details, so one row per
    distinct set of details). Returns the alert's id."""
    text = {k: str(v) for k, v in details.items()}
    subject_key = _subject(subject, text)
    now = now_utc()
    new_row = upsert.insert(A).values(
        kind=kind, severity=severity_of(kind).value, subject=subject_key, message=message[:500], details=text,
        state=AlertState.OPEN.value, count=1, first_seen_at=now, last_seen_at=now)
    stmt = new_row.on_conflict_do_update(
        index_elements=["kind", "subject"], index_where=_UNRESOLVED,
        set_={"count": A.c.count + 1, "last_seen_at": now, "message": message[:500], "details": text},
    ).returning(A.c.id, A.c.count)
    alert_id, count = db.session.execute(stmt).one()
    if count == 1:
        log.warning("ALERT %s [%s]: %s %s", kind, subject_key, message, text)
        ALERTS_RAISED.labels(kind).inc()
        outbox.emit(EventType.ALERT_RAISED, "alert", kind, {
            "id": alert_id, "kind": kind, "severity": severity_of(kind).value, "subject": subject_key,
            "message": message, "details": text})
    return alert_id


def clear_alert(kind: str, subject: str, actor: Actor = SYSTEM, note: str = "the condition cleared") -> bool:
    """Resolve the unresolved alert of ``kind`` about ``subject``; False if there is none."""
    return rows_changed(
        sa.update(A).where(A.c.kind == kind, A.c.subject == subject[:200], A.c.state != AlertState.RESOLVED)
        .values(state=AlertState.RESOLVED, resolved_by=actor.label, resolved_at=now_utc(), resolution_note=note)
    ) > 0


def clear_all_but(kind: str, subjects: set[str], note: str = "the condition cleared") -> int:
    """Resolve every unresolved alert of ``kind`` whose subject is not in ``subjects`` (for checks
    that see the whole condition at once). Returns how many."""
    cond = [A.c.kind == kind, A.c.state != AlertState.RESOLVED]
    if subjects:
        cond.append(A.c.subject.notin_(sorted(subjects)))
    return rows_changed(sa.update(A).where(*cond).values(
        state=AlertState.RESOLVED, resolved_by=SYSTEM.label, resolved_at=now_utc(), resolution_note=note))
