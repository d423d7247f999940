"""A reader's notifications: only ever their own (every query is by the signed-in user's id), newest
first, paged; the unread count of the header; marking one or all read."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.errors import NotFound
from ...extensions import db
from ...models import Notification
from ...models.types import now_utc
from ..platform.paging import Page
from ..platform.unit_of_work import rows_changed, transaction

PAGE_SIZE = 20


def unread_count(user_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def page(user_id: int, number: int, page_size: int = PAGE_SIZE) -> Page:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                              .where(Notification.user_id == user_id)) or 0
    items = list(db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((number - 1) * page_size).limit(page_size)))
    return Page(items=items, page=number, page_size=page_size, total=total)


def mark_read(user_id: int, notification_id: int) -> None:
    """Mark the reader's own notification read (again is nothing); another's or none: NotFound."""
    with transaction():
        found = db.session.scalar(sa.select(Notification.id).where(Notification.id == notification_id,
                                                                  Notification.user_id == user_id))
        if found is None:
            raise NotFound("no such notification")
        rows_changed(sa.update(Notification).where(Notification.id == notification_id,
                                                   Notification.read_at.is_(None)).values(read_at=now_utc()))


def mark_all_read(user_id: int) -> int:
    """Every unread notification of the reader; the number marked."""
    with transaction():
        return rows_changed(sa.update(Notification).where(Notification.user_id == user_id,
                                                          Notification.read_at.is_(None)).values(read_at=now_utc()))
