"""E-mail of notifications (services/notifications/mail.py), on the ``low`` queue."""

from __future__ import annotations

from ..services.notifications import mail


def send_notification_mails(notification_ids: list[int]) -> dict[str, int]:
    """Send these notifications' PENDING mails; raises (RQ retries it) while the SMTP server is down."""
    return mail.send(notification_ids)


def sweep_notification_mails() -> dict[str, int]:
    """Give up mails unsent for too long; queue again PENDING mails whose job is gone."""
    return mail.sweep()
