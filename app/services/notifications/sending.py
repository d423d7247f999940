"""Writing notifications, always in the caller's transaction, so a notification exists exactly when
the change it announces was committed. Only active users are told; a company without users gets none."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ...domain.enums import Role
from ...extensions import db
from ...models import Notification, User
from ...models.types import now_utc
from .kinds import NotificationKind

RESELLER_ROLES = (Role.RESELLER_OPERATOR.value, Role.RESELLER_APPROVER.value)


def company_users(reseller_id: int, roles: Iterable[str] = RESELLER_ROLES) -> list[int]:
    """The ids of the company's active users with one of ``roles``."""
    return list(db.session.scalars(
        sa.select(User.id).where(User.reseller_id == reseller_id, User.active.is_(True), User.role.in_(tuple(roles)))
        .order_by(User.id)))


def notify_users(user_ids: Iterable[int], kind: NotificationKind, params: dict[str, Any]) -> int:
    """One unread notification per user; the number written."""
    now = now_utc()
    rows = [{"user_id": uid, "kind": kind.value, "params": dict(params), "created_at": now} for uid in user_ids]
    if rows:
        db.session.execute(sa.insert(Notification), rows)
    return len(rows)


def notify_company(reseller_id: int, kind: NotificationKind, params: dict[str, Any],
                   roles: Iterable[str] = RESELLER_ROLES) -> int:
    """Every active user of the company with one of ``roles`` (by default every reseller user)."""
    return notify_users(company_users(reseller_id, roles), kind, params)
