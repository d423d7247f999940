"""Finance asks for a day's reconciliation now (/finance/reconciliation, "Reconcile this day"): every
ONLINE channel's statement is fetched and every WALLET and CREDIT ledger read, each by a job of the
worker, as the hourly job does for yesterday. Each channel's run exists from the request on, QUEUED
(progress.py), so the screen shows it waiting, then working, then done. A channel whose run is already
queued or working is not asked again. A day to come, or outside the dates the portal knows, is
refused and nothing is stored or queued."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ...domain.enums import ChannelKind
from ...domain.errors import ValidationFailed
from ...domain.timeutil import in_date_range, shanghai_today
from ...extensions import db
from ...models import Channel
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.queues import queue
from ..platform.unit_of_work import end_read, transaction
from . import online_fetch, progress, runs

QUEUE = "low"
JOBS = {ChannelKind.ONLINE.value: "app.jobs.reconciliation.reconcile_online_statement",
        ChannelKind.WALLET.value: "app.jobs.reconciliation.reconcile_ledger_day",
        ChannelKind.CREDIT.value: "app.jobs.reconciliation.reconcile_ledger_day"}


def _channels() -> list[Channel]:
    found = list(db.session.scalars(sa.select(Channel).where(
        sa.or_(sa.and_(Channel.kind == ChannelKind.ONLINE, Channel.enabled.is_(True)),
               Channel.kind.in_((ChannelKind.WALLET, ChannelKind.CREDIT)))).order_by(Channel.id)))
    for c in found:
        db.session.expunge(c)
    end_read()
    return found


def request_day(actor: Actor, day: date) -> list[str]:
    """Queue the day's reconciliation of every channel not already at work; the codes queued."""
    if not in_date_range(day):
        raise ValidationFailed("not a day the portal knows", field="day")
    if day > shanghai_today():
        raise ValidationFailed("that day has not come yet", field="day")
    queued: list[tuple[int, str, str]] = []
    for channel in _channels():
        runs.ensure_run(channel, day)
        with transaction():
            run = runs.run_for(channel.id, day)
            if run is None or progress.is_active(run):
                continue
            run.progress = progress.stamped(progress.QUEUED)
            audit.record(actor, "reconciliation.requested", "recon_run", str(run.id),
                         after={"day": day.isoformat(), "channel": channel.code})
            queued.append((channel.id, channel.code, channel.kind))
    for channel_id, _code, kind in queued:
        queue(QUEUE).enqueue(JOBS[kind], channel_id, day.isoformat(), job_timeout=1800, result_ttl=86400,
                             failure_ttl=7 * 86400,
                             **({"retry": online_fetch.STATEMENT_RETRY} if kind == ChannelKind.ONLINE.value else {}))
    return [code for _id, code, _kind in queued]
