"""The month-end run (app/services/statements/schedule.py): on the 1st, last month's statement for
every ACTIVE reseller, once however often the hourly job runs; on the documents queue; statement.ready
once the statement is READY."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Document, OutboxEvent
from app.services.documents import dispatch, rendering
from app.services.platform.queues import queue
from app.services.statements import schedule
from tests.support.factories import make_reseller
from tests.support.statement_world import MARCH, build_march, ensure_world, shanghai


def _statements():
    rows = db.session.execute(sa.select(Document.id, Document.number, Document.reseller_id, Document.subject,
                                        Document.state,
                                        Document.requested_by)
                              .where(Document.doc_type == "STATEMENT").order_by(Document.reseller_id)).all()
    db.session.rollback()
    return rows


@pytest.fixture(autouse=True)
def documents_queue(ctx):
    """The session's documents queue, empty before and after (document ids restart with each test)."""
    q = queue(dispatch.QUEUE)
    q.empty()
    yield q
    q.empty()


def test_only_the_first_day_does_anything(ctx):
    ensure_world()
    for day in (2, 15, 31):
        assert schedule.render_last_month(shanghai(2026, 3, day, 9))["skipped"]
    # 1 April 00:30 in Shanghai is still 31 March in UTC: the business day decides.
    assert schedule.render_last_month(shanghai(2026, 4, 1, 0, 30))["month"] == "2026-03"


def test_first_of_the_month_asks_once_per_active_reseller_and_emits_ready(ctx, documents_queue):
    ids = ensure_world()
    make_reseller("R1003", status="SUSPENDED")
    first = schedule.render_last_month(shanghai(2026, 4, 1, 0, 23))
    assert first == {"month": "2026-03", "requested": 2, "already": 0}
    again = schedule.render_last_month(shanghai(2026, 4, 1, 1, 23))
    assert again == {"month": "2026-03", "requested": 0, "already": 2}
    rows = _statements()
    assert [(r.reseller_id, r.subject, r.state, r.requested_by) for r in rows] == [
        (ids["R1001"], "2026-03", "QUEUED", "system:statement-schedule"),
        (ids["R1002"], "2026-03", "QUEUED", "system:statement-schedule")]
    assert sorted(documents_queue.job_ids) == sorted(dispatch.job_id(r.number) for r in rows)
    assert rendering.render(rows[0].id)["state"] == "READY"
    events = db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == "statement.ready")).all()
    assert [(e.payload["resellerCode"], e.payload["month"], e.payload["sizeBytes"] > 0) for e in events] == [
        ("R1001", "2026-03", True)]


def test_the_scheduled_statement_prints_the_month(ctx, tmp_path):
    build_march()
    schedule.render_last_month(shanghai(2026, 4, 1, 8, 23))
    rid = ensure_world()["R1001"]
    doc_id = db.session.scalar(sa.select(Document.id).where(Document.reseller_id == rid,
                                                            Document.doc_type == "STATEMENT"))
    db.session.rollback()
    assert rendering.render(doc_id)["state"] == "READY"
    doc = db.session.get_one(Document, doc_id)
    assert (doc.subject, doc.period_start, doc.period_end) == ("2026-03", MARCH.first_day, MARCH.last_day)
