"""The admin's work on people (docs/SCREENS.md ``/admin/users``): create a user with a role and a
company, disable and enable, sign out everywhere (``session_version`` moves on, as a password change
does), and one-time links to set a password (only the token's SHA-256 is stored; a link works once
and until it expires; a new link replaces the user's earlier ones). Every action is audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from ...domain.enums import RESELLER_ROLES
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...domain.timeutil import utcnow
from ...extensions import db
from ...models import PasswordReset, Reseller, User
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from .users import MIN_PASSWORD_LENGTH, create_user, hash_password

LINK_LIFETIME = timedelta(hours=24)


def list_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.role, User.email)))


def reseller_codes() -> list[tuple[str, str]]:
    """(code, name) of every reseller, for the company choice."""
    return [(c, n) for c, n in db.session.execute(sa.select(Reseller.code, Reseller.name).order_by(Reseller.code))]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(user: User, now: datetime) -> str:
    """A new link's token (in the caller's transaction); the user's earlier unused links stop working."""
    db.session.execute(sa.update(PasswordReset).where(PasswordReset.user_id == user.id,
                                                      PasswordReset.used_at.is_(None)).values(used_at=now))
    token = secrets.token_urlsafe(32)
    db.session.add(PasswordReset(user_id=user.id, token_hash=_token_hash(token), expires_at=now + LINK_LIFETIME,
                                 created_at=now))
    return token


def create(actor: Actor, email: str, name: str, role: str, reseller_code: str | None, locale: str) -> tuple[User, str]:
    """A new user with an unusable random password, and the token of the link that sets theirs."""
    if role in RESELLER_ROLES and not reseller_code:
        raise ValidationFailed("a reseller user needs a company", field="reseller")
    user = create_user(actor, email, secrets.token_urlsafe(32), role, reseller_code if role in RESELLER_ROLES
                       else None, name=name, locale=locale)
    with transaction():
        token = _issue(db.session.get_one(User, user.id), utcnow())
    return user, token


def _locked(user_id: int) -> User:
    user = db.session.scalar(sa.select(User).where(User.id == user_id).with_for_update(of=User))
    if user is None:
        raise NotFound("no such user")
    return user


def set_active(actor: Actor, user_id: int, active: bool) -> None:
    """Disable (every session ends at once) or enable a user. Nobody disables themselves."""
    if not active and actor.type == "user" and actor.id == str(user_id):
        raise StateConflict("you cannot disable yourself")
    with transaction():
        user = _locked(user_id)
        if user.active == active:
            return
        user.active = active
        if not active:
            user.session_version += 1
        audit.record(actor, "user.enable" if active else "user.disable", "user", user.email,
                     {"active": not active}, {"active": active})


def sign_out_everywhere(actor: Actor, user_id: int) -> None:
    with transaction():
        user = _locked(user_id)
        before = user.session_version
        user.session_version += 1
        audit.record(actor, "user.sign_out_everywhere", "user", user.email,
                     {"session_version": before}, {"session_version": user.session_version})


def issue_reset_link(actor: Actor, user_id: int) -> tuple[User, str]:
    now = utcnow()
    with transaction():
        user = _locked(user_id)
        if not user.active:
            raise StateConflict("the user is disabled")
        token = _issue(user, now)
        audit.record(actor, "user.password_reset_link", "user", user.email, None,
                     {"expires_at": (now + LINK_LIFETIME).isoformat()})
    return user, token


def _valid(token: str, now: datetime, lock: bool) -> tuple[PasswordReset, User] | None:
    if not token or len(token) > 128:
        return None
    stmt = sa.select(PasswordReset).where(PasswordReset.token_hash == _token_hash(token))
    link = db.session.scalar(stmt.with_for_update() if lock else stmt)
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    user = db.session.get(User, link.user_id)
    if user is None or not user.active:
        return None
    return link, user


def link_user(token: str) -> User | None:
    """The user a link would set the password of, while it is valid; else None."""
    found = _valid(token, utcnow(), lock=False)
    return found[1] if found else None


def set_password_by_link(token: str, new_password: str) -> User:
    """Use the link once: the new password, every session of the user ends. NotFound if the link is
    unknown, used, expired or its user disabled."""
    if len(new_password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed("password too short", field="new_password")
    now = utcnow()
    with transaction():
        found = _valid(token, now, lock=True)
        if found is None:
            raise NotFound("no such link")
        link, user = found
        link.used_at = now
        user.password_hash = hash_password(new_password)
        user.session_version += 1
        audit.record(Actor(type="user", id=str(user.id)), "user.password_set_by_link", "user", user.email,
                     None, {"sessionsEnded": True})
    return user
