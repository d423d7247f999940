"""Alerts for admins: an ``alert.raised`` outbox event (webhooks, the admin screen) and a log line."""

from __future__ import annotations

import logging

from ...domain.event_types import EventType
from ..platform import outbox

log = logging.getLogger("portal.alerts")


def raise_alert(kind: str, message: str, **details: object) -> None:
    """In the caller's transaction."""
    log.warning("ALERT %s: %s %s", kind, message, details)
    outbox.emit(EventType.ALERT_RAISED, "alert", kind, {"kind": kind, "message": message,
                                                "details": {k: str(v) for k, v in details.items()}})
