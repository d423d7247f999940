"""An ONLINE channel's daily statement: fetched from the gateway through the channel adapter,
imported (idempotent) and reconciled. A statement not published yet raises ``StatementNotReady``
so that the job is retried with backoff (app/jobs/reconciliation.py); still missing
``RECON_STATEMENT_ALERT_HOURS`` after its day closed, it also raises an alert."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from rq import Retry

from ...channels.base import StatementNotReady
from ...channels.registry import adapter_for
from ...domain.enums import ChannelKind, StatementSource
from ...domain.timeutil import shanghai_day_bounds
from ...extensions import db
from ...models import Channel
from ...models.types import now_utc
from ..alerts import raising as alerts
from ..channel_config import lookup as channel_config
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read, transaction
from . import progress, runs
from .lines import Line
from .statement_import import import_statement

# The job's retries while the statement is not published: 1, 2, 4, 8, 16, 32 minutes, then every hour
# until the next day's tick (app/jobs/reconciliation.py and on_demand.py enqueue with it).
STATEMENT_RETRY = Retry(max=10, interval=[60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600])


def online_channel_ids() -> list[int]:
    ids = list(db.session.scalars(sa.select(Channel.id).where(Channel.kind == ChannelKind.ONLINE,
                                                              Channel.enabled.is_(True)).order_by(Channel.id)))
    end_read()
    return ids


def fetch_and_reconcile(channel_id: int, day: date, actor: Actor = runs.RECONCILIATION) -> dict:
    """Returns what happened: ``{"imported": bool, "reconciled": bool, "lines": n}``."""
    cfg = channel_config.config_by_id(channel_id)
    end_read()
    progress.mark(channel_id, day, progress.FETCHING)
    try:
        fetched = adapter_for(ChannelKind.ONLINE).fetch_statement(cfg, day)
    except StatementNotReady:
        progress.mark(channel_id, day, progress.WAITING)
        overdue = shanghai_day_bounds(day)[1] + timedelta(hours=current_app.config["RECON_STATEMENT_ALERT_HOURS"])
        if now_utc() >= overdue:
            with transaction():
                alerts.raise_alert("statement_missing", "the channel's statement is still not published",
                                   channel=cfg.code, day=day.isoformat())
        raise
    lines = (Line(line_type=x.type, channel_transaction_id=x.channel_transaction_id,
                  reference=x.channel_payment_no, amount=x.amount, status=x.status, completed_at=x.completed_at)
             for x in fetched)  # streamed into the import, never a list: a statement may have a million lines
    imported = import_statement(channel_id, cfg.code, day, StatementSource.GATEWAY, lines, actor)
    if not imported.created and runs.is_current(channel_id, day, imported.import_id):
        end_read()
        progress.mark(channel_id, day, progress.DONE, lines=imported.lines, unchanged=1)
        return {"imported": False, "reconciled": False, "lines": imported.lines}
    end_read()
    runs.reconcile(channel_id, day, imported.import_id, actor)
    return {"imported": imported.created, "reconciled": True, "lines": imported.lines}
