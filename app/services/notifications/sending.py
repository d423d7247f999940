"""Writing notifications, always in the caller's transaction, so a notification exists exactly when
the change it announces was committed. Only active users are told; a company without users gets none.
Those who want e-mail for the kind (``mail_prefs``) get their row marked PENDING for mail, and one
job sends those mails once the transaction commits (``mail_dispatch``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ...domain.enums import MailState, Role
from ...extensions import db
from ...models import Notification, User
from ...models.types import now_utc
from . import mail_dispatch, mail_prefs
from .kinds import NotificationKind

RESELLER_ROLES = (Role.RESELLER_OPERATOR.value, Role.RESELLER_APPROVER.value)


def company_users(reseller_id: int, roles: Iterable[str] = RESELLER_ROLES) -> list[int]:
    """The ids of the company's active users with one of ``roles``."""
    return list(db.session.scalars(
        sa.select(User.id).where(User.reseller_id == reseller_id, User.active.is_(True), User.role.in_(tuple(roles)))
        .order_by(User.id)))


def notify_users(user_ids: Iterable[int], kind: NotificationKind, params: dict[str, Any]) -> int:
    """One unread notification per user (and its e-mail, for those who want it); the number written."""
    ids = list(user_ids)
    if not ids:
        return 0
    now = now_utc()
    to_mail = mail_prefs.recipients(ids, kind.value)
    job_id = mail_dispatch.new_job_id() if to_mail else None
    rows = [{"user_id": uid, "kind": kind.value, "params": dict(params), "created_at": now,
             **({"mail_state": MailState.PENDING.value, "mail_job": job_id, "mail_queued_at": now}
                if uid in to_mail else {"mail_state": None, "mail_job": None, "mail_queued_at": None})}
            for uid in ids]
    written = db.session.execute(sa.insert(Notification).returning(Notification.id, Notification.user_id), rows).all()
    if job_id is not None:
        mail_dispatch.after_commit(job_id, [nid for nid, uid in written if uid in to_mail])
    return len(rows)


def notify_company(reseller_id: int, kind: NotificationKind, params: dict[str, Any],
                   roles: Iterable[str] = RESELLER_ROLES) -> int:
    """Every active user of the company with one of ``roles`` (by default every reseller user)."""
    return notify_users(company_users(reseller_id, roles), kind, params)
