"""Signing in to the portal: password check that answers alike for unknown emails, audited."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.timeutil import utcnow
from ...extensions import db
from ...models import User
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from .users import burn_verify_time, verify_password


def authenticate(email: str, password: str, ip: str | None = None, request_id: str | None = None) -> User | None:
    """The active user with this email and password, else None (the same time either way)."""
    email = (email or "").strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == email)) if email else None
    if user is None or not user.active:
        burn_verify_time(password or "")
        ok = False
    else:
        ok = verify_password(user.password_hash, password or "")
    actor = Actor(type="user", id=str(user.id) if user else email[:64] or "-", ip=ip, request_id=request_id)
    with transaction():
        if ok:
            assert user is not None  # only a user found can have the right password
            user.last_login_at = utcnow()
        audit.record(actor, "user.login" if ok else "user.login_failed", "user", email[:64] or "-")
    return user if ok else None


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's user loader: ``<id>:<session_version>``; a bumped version ends old sessions."""
    user_id, _, version = (session_id or "").partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user
