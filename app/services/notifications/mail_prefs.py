"""Who gets e-mail for a notification: per person, per kind (``MailOptOut`` rows, none by default:
everyone with an address gets every kind). Opting out stops the e-mail only; the in-portal
notification is always written (``sending``)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app

from ...domain.errors import NotFound, ValidationFailed
from ...extensions import db
from ...models import MailOptOut, User
from ...models.types import now_utc
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from .kinds import NotificationKind

KINDS = tuple(k.value for k in NotificationKind)


def mail_configured() -> bool:
    return bool(current_app.config.get("SMTP_URL"))


def opted_out(user_id: int) -> set[str]:
    """The kinds the person gets no e-mail for."""
    return set(db.session.scalars(sa.select(MailOptOut.kind).where(MailOptOut.user_id == user_id)))


def recipients(user_ids: Iterable[int], kind: str) -> set[int]:
    """Of ``user_ids``, those to e-mail about ``kind``: active, with an address, not opted out; none
    when no SMTP server is configured."""
    ids = list(user_ids)
    if not ids or not mail_configured():
        return set()
    out = sa.select(MailOptOut.user_id).where(MailOptOut.kind == kind)
    return set(db.session.scalars(sa.select(User.id).where(
        User.id.in_(ids), User.active.is_(True), User.email != "", User.id.not_in(out))))


def wants_mail(user_id: int, kind: str) -> bool:
    """At send time: still active and not opted out since the notification was written."""
    active = db.session.scalar(sa.select(User.active).where(User.id == user_id))
    return bool(active) and kind not in opted_out(user_id)


def set_mail_kinds(actor: Actor, user_id: int, wanted: Iterable[str]) -> set[str]:
    """The person wants e-mail for exactly the kinds ``wanted`` (every other kind is opted out); an
    unknown kind: ValidationFailed and nothing changes. Audited ``user.mail_preferences`` when it
    changes something; the opted-out kinds after."""
    wanted_set = set(wanted)
    unknown = sorted(wanted_set - set(KINDS))
    if unknown:
        raise ValidationFailed("unknown notification kind: " + ", ".join(unknown)[:200], field="mail")
    with transaction():
        if db.session.scalar(sa.select(User.id).where(User.id == user_id)) is None:
            raise NotFound("no such user")
        before = opted_out(user_id)
        after = set(KINDS) - wanted_set
        if before != after:
            db.session.execute(sa.delete(MailOptOut).where(MailOptOut.user_id == user_id))
            now = now_utc()
            for kind in sorted(after):
                db.session.add(MailOptOut(user_id=user_id, kind=kind, created_at=now))
            audit.record(actor, "user.mail_preferences", "user", str(user_id),
                         {"optedOut": sorted(before)}, {"optedOut": sorted(after)})
    return after
