"""A notification to one person (docs/DOMAIN.md "Notifications"): a kind and its parameters, never
text, so that it is worded in the reader's language when shown (app/labels.py ``notification_text``)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.enums import MailState
from .base import Model
from .types import UTCDateTime, now_utc, sql_values


class Notification(Model):
    """Written in the transaction of the change it announces; ``read_at`` is set once, by its reader."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_created", "user_id", "created_at"),
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
        sa.Index("ix_notifications_mail_state", "mail_state", "mail_queued_at"),
        sa.CheckConstraint(f"mail_state IS NULL OR mail_state IN {sql_values(MailState)}", name="mail_state"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Its e-mail (services/notifications/mail.py): NULL when none was planned; the job that sends it
    # (``mail_job``, queued at ``mail_queued_at``), the attempts so far and the last error.
    mail_state: Mapped[str | None] = mapped_column(sa.String(10))
    mail_job: Mapped[str | None] = mapped_column(sa.String(80))
    mail_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    mail_error: Mapped[str | None] = mapped_column(sa.String(300))
    mail_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailOptOut(Model):
    """A person does not want e-mail for one kind of notification (the in-portal one still comes)."""

    __tablename__ = "mail_opt_outs"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
