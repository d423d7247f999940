"""People who sign in: creation and password hashing (argon2id, OWASP parameters)."""

from __future__ import annotations

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ...domain.enums import RESELLER_ROLES, Role
from ...domain.errors import ValidationFailed
from ...extensions import db
from ...models import Reseller, User
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction

# argon2id, 19 MiB, t=2, p=1 (OWASP); argon2-cffi's defaults are stronger in memory, these are the floor.
TIME_COST, MEMORY_COST_KIB, PARALLELISM = 2, 19 * 1024, 1
_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM)
MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = None


def burn_verify_time(password: str) -> None:
    """Spend the time of a real verification, so unknown and known emails answer alike."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("dummy-password-for-timing")
    verify_password(_DUMMY_HASH, password)


def create_user(actor: Actor, email: str, password: str, role: str, reseller_code: str | None = None,
                name: str = "", locale: str = "zh") -> User:
    email = email.strip().lower()
    if role not in {r.value for r in Role}:
        raise ValidationFailed(f"unknown role {role}", field="role")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
    with transaction():
        reseller_id = None
        if role in RESELLER_ROLES:
            if not reseller_code:
                raise ValidationFailed("a reseller user needs a reseller", field="reseller")
            reseller_id = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == reseller_code))
            if reseller_id is None:
                raise ValidationFailed(f"reseller {reseller_code} does not exist", field="reseller")
        elif reseller_code:
            raise ValidationFailed("staff users do not belong to a reseller", field="reseller")
        if db.session.scalar(sa.select(User.id).where(User.email == email)):
            raise ValidationFailed(f"a user with email {email} exists already", field="email")
        user = User(email=email, name=name or email.split("@")[0], password_hash=hash_password(password), role=role,
                    reseller_id=reseller_id, locale=locale, active=True, session_version=1)
        db.session.add(user)
        db.session.flush()
        audit.record(actor, "user.create", "user", email, None, {"role": role, "reseller": reseller_code})
    return user


def change_password(actor: Actor, user_id: int, current_password: str, new_password: str) -> User:
    """A signed-in person changes their own password: the current one must match, the new one is at
    least MIN_PASSWORD_LENGTH characters and differs. Every session of the user ends (its
    ``session_version`` moves on); the caller signs the current session in again."""
    if len(new_password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"the new password must be at least {MIN_PASSWORD_LENGTH} characters",
                               field="new_password")
    with transaction():
        user = db.session.scalar(sa.select(User).where(User.id == user_id).with_for_update(of=User))
        if user is None or not verify_password(user.password_hash, current_password or ""):
            raise ValidationFailed("the current password is not right", field="current_password")
        if verify_password(user.password_hash, new_password):
            raise ValidationFailed("choose a password you have not been using", field="new_password")
        user.password_hash = hash_password(new_password)
        user.session_version += 1
        audit.record(actor, "user.password_change", "user", user.email, None, {"sessionsEnded": True})
    return user
