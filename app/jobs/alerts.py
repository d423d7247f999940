"""Alert checks, enqueued by the scheduler (``app.jobs.cron``)."""

from __future__ import annotations

from ..services.alerts.checks import check_missing_callbacks


def check_alerts() -> dict:
    """Conditions found by looking (services/alerts/checks.py): payments without their result."""
    return {"callbacks": check_missing_callbacks()}
