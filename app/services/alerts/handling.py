"""People acting on alerts (admins only, ``/admin/alerts``): acknowledge (a note is optional) and
resolve (a note is required). Each step is audited with the state before and after."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...extensions import db
from ...models import Alert
from ...models.alert import AlertState
from ...models.types import now_utc
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction

MAX_NOTE = 500


def _clean(note: str | None) -> str:
    return "".join(c for c in (note or "") if c.isprintable()).strip()


def _locked(alert_id: int) -> Alert:
    alert = db.session.scalar(sa.select(Alert).where(Alert.id == alert_id).with_for_update())
    if alert is None:
        raise NotFound("no such alert")
    return alert


def acknowledge(actor: Actor, alert_id: int, note: str | None = None) -> Alert:
    """OPEN → ACKNOWLEDGED. StateConflict for an alert that is not OPEN."""
    text = _clean(note)
    if len(text) > MAX_NOTE:
        raise ValidationFailed("the note is too long", field="note")
    with transaction():
        alert = _locked(alert_id)
        if alert.state != AlertState.OPEN:
            raise StateConflict(f"the alert is {alert.state}")
        alert.state = AlertState.ACKNOWLEDGED
        alert.acknowledged_by, alert.acknowledged_at, alert.acknowledge_note = actor.label, now_utc(), text or None
        audit.record(actor, "alert.acknowledge", "alert", str(alert.id), {"state": AlertState.OPEN.value},
                     {"state": alert.state, "kind": alert.kind, "subject": alert.subject, "note": text or None})
    return alert


def resolve(actor: Actor, alert_id: int, note: str) -> Alert:
    """OPEN or ACKNOWLEDGED → RESOLVED, with a note saying what was done."""
    text = _clean(note)
    if not text:
        raise ValidationFailed("say what was done", field="note")
    if len(text) > MAX_NOTE:
        raise ValidationFailed("the note is too long", field="note")
    with transaction():
        alert = _locked(alert_id)
        if alert.state == AlertState.RESOLVED:
            raise StateConflict("the alert is resolved already")
        before = alert.state
        alert.state = AlertState.RESOLVED
        alert.resolved_by, alert.resolved_at, alert.resolution_note = actor.label, now_utc(), text
        audit.record(actor, "alert.resolve", "alert", str(alert.id), {"state": before},
                     {"state": alert.state, "kind": alert.kind, "subject": alert.subject, "note": text})
    return alert
