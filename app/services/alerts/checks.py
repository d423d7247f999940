"""Periodic checks for conditions nothing else notices (``app/jobs/alerts.py``, every 10 minutes).

``check_missing_callbacks``: an ONLINE channel payment still PROCESSING ``ALERT_CALLBACK_MISSING_HOURS``
(24) after it started never got its channel's result, by callback or by the compensation query
(seed 000: "callback not received within 24 h"). One alert per channel payment; the alert of one
that has since settled is resolved by the next check."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ...domain.enums import ChannelKind, ChannelPaymentStatus
from ...extensions import db
from ...models import ChannelPayment
from ...models.types import now_utc
from ..platform.unit_of_work import transaction
from .kinds import CALLBACK_MISSING
from .raising import clear_all_but, raise_alert
from .thresholds import callback_missing_after

LIMIT = 500  # alerts raised per check at most (the oldest first); the rest wait for the next one


def check_missing_callbacks(now: datetime | None = None) -> dict[str, int]:
    now = now or now_utc()
    waited = callback_missing_after()
    cp = ChannelPayment
    with transaction():
        rows = db.session.execute(
            sa.select(cp.channel_payment_id, cp.channel_code, cp.amount, cp.created_at)
            .where(cp.channel_kind == ChannelKind.ONLINE, cp.status == ChannelPaymentStatus.PROCESSING,
                   cp.created_at <= now - waited)
            .order_by(cp.created_at).limit(LIMIT)).all()
        for r in rows:
            raise_alert(CALLBACK_MISSING, f"no result from {r.channel_code} {int(waited.total_seconds() // 3600)} h "
                        "after the payment started", subject=r.channel_payment_id, payment=r.channel_payment_id,
                        channel=r.channel_code, amount=f"{r.amount:.2f}", started=r.created_at.isoformat())
        cleared = 0 if len(rows) == LIMIT else clear_all_but(
            CALLBACK_MISSING, {r.channel_payment_id for r in rows}, note="the payment has its result")
    return {"missing": len(rows), "cleared": cleared}
