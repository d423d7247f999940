"""The month-end run (docs/DOMAIN.md §8): on the first day of a month (Asia/Shanghai) every ACTIVE
reseller gets last month's statement, once. The schedule calls ``render_last_month`` every hour
(app/jobs/cron.py); on any other day it does nothing. A reseller that already has last month's
statement from the schedule is skipped, so the 24 runs of the first day (or a run repeated after a
crash) ask for each statement once. Each request commits on its own, so a run that stops half-way
loses nothing; the renders wait on the ``documents`` queue, behind every payment job, and each
statement emits ``statement.ready`` when it is READY (``document.emit_statement_ready``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ...domain.enums import ResellerStatus
from ...domain.timeutil import SHANGHAI, utcnow
from ...extensions import db
from ...models import Document, Reseller
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read, transaction
from .document import STATEMENT, request_statement
from .period import Month

SCHEDULE = Actor(type="system", id="statement-schedule")


def render_last_month(now: datetime | None = None) -> dict[str, int | str]:
    """On the first day of a month: ask for last month's statement of every ACTIVE reseller that the
    schedule has not asked for yet. Returns what it did."""
    today = (now or utcnow()).astimezone(SHANGHAI).date()
    if today.day != 1:
        return {"skipped": "not the first day of the month"}
    month = Month.containing(today).previous()
    done = set(db.session.scalars(sa.select(Document.reseller_id).where(
        Document.doc_type == STATEMENT, Document.subject == str(month), Document.requested_by == SCHEDULE.label)))
    resellers = db.session.execute(sa.select(Reseller.id, Reseller.code).where(
        Reseller.status == ResellerStatus.ACTIVE).order_by(Reseller.id)).all()
    end_read()
    requested = 0
    for rid, code in resellers:
        if rid in done:
            continue
        with transaction():
            request_statement(SCHEDULE, rid, code, month)
        requested += 1
    return {"month": str(month), "requested": requested, "already": len(done)}
