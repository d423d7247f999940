"""Asking for a document: the same data is one document, however often and however concurrently it is
asked for (docs/DOMAIN.md §8 "PDF documents")."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import AuditEntry, Document
from app.services.reports.document import request_daily_report
from tests.support.concurrency import race
from tests.support.engine import FINANCE


def _documents_and_requests() -> tuple[int, int]:
    documents = db.session.scalar(sa.select(sa.func.count()).select_from(Document))
    requested = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == "document.requested"))
    db.session.rollback()
    return documents, requested


def test_asking_again_for_the_same_data_gives_the_same_document(ctx):
    day = shanghai_today() - timedelta(days=1)
    first = request_daily_report(FINANCE, day)
    assert request_daily_report(FINANCE, day) == first
    assert request_daily_report(FINANCE, day - timedelta(days=1)) != first
    assert _documents_and_requests() == (2, 2)


def test_two_asking_at_the_same_moment_get_one_document(app, ctx):
    day = shanghai_today() - timedelta(days=1)
    for offset in range(3):
        asked = day - timedelta(days=offset)
        first, second = race(app, lambda d=asked: request_daily_report(FINANCE, d),
                             lambda d=asked: request_daily_report(FINANCE, d), refused=())
        assert first == second
    assert _documents_and_requests() == (3, 3)
