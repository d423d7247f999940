from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.enums import Role
from .base import Model
from .types import UTCDateTime, now_utc, sql_values

if TYPE_CHECKING:
    from .reseller import Reseller


class User(UserMixin, Model):
    """A person who signs in. Reseller roles belong to exactly one reseller; staff roles to none."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(f"role IN {sql_values(Role)}", name="role"),
        sa.CheckConstraint(
            f"(role IN {sql_values((Role.RESELLER_OPERATOR, Role.RESELLER_APPROVER))}) = (reseller_id IS NOT NULL)",
            name="reseller_role_has_reseller",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(32))
    reseller_id: Mapped[int | None] = mapped_column(sa.ForeignKey("resellers.id"), index=True)
    locale: Mapped[str] = mapped_column(sa.String(8), default="zh")
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change and logout-everywhere; part of the session identity.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    reseller: Mapped[Reseller | None] = relationship("Reseller", lazy="joined")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active


class PasswordReset(Model):
    """A one-time link an admin issued for a user to set a new password (docs/SECURITY.md): only the
    SHA-256 of the token is stored; it works once (``used_at``) and until ``expires_at``."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
