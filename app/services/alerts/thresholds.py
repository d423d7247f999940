"""Configured alert thresholds (app/config.py ``ALERT_*``)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app

_FALLBACK_AMOUNT = Decimal("50000.00")


def large_payment_amount() -> Decimal:
    """A failed payment of at least this amount raises ``large_payment_failed``. A value that is
    not a positive amount falls back to 50,000.00 (logged), rather than alerting on every payment."""
    raw = current_app.config.get("ALERT_LARGE_PAYMENT_AMOUNT", _FALLBACK_AMOUNT)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        current_app.logger.error("ALERT_LARGE_PAYMENT_AMOUNT %r is not a positive amount; using %s", raw,
                                 _FALLBACK_AMOUNT)
        return _FALLBACK_AMOUNT
    return value


def callback_missing_after() -> timedelta:
    return timedelta(hours=max(1, int(current_app.config.get("ALERT_CALLBACK_MISSING_HOURS", 24))))
