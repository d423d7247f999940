"""The audit log as ``/admin/audit`` reads it: filtered by time range, actor, action and target,
newest first, one page at a time; and one entry with its before/after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ...extensions import db
from ...models import AuditEntry
from ..platform.paging import Page
from ..platform.unit_of_work import end_read

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None  # inclusive, UTC
    until: datetime | None = None  # exclusive, UTC
    actor: str | None = None  # actor id, exact (or "type:id")
    action: str | None = None  # prefix: "job." matches every job action
    target_type: str | None = None
    target_id: str | None = None


def _where(f: AuditFilter) -> list[sa.ColumnElement[bool]]:
    conds: list[sa.ColumnElement[bool]] = []
    if f.since is not None:
        conds.append(AuditEntry.created_at >= f.since)
    if f.until is not None:
        conds.append(AuditEntry.created_at < f.until)
    if f.actor:
        kind, sep, ident = f.actor.partition(":")
        if sep:
            conds += [AuditEntry.actor_type == kind, AuditEntry.actor_id == ident]
        else:
            conds.append(AuditEntry.actor_id == f.actor)
    if f.action:
        conds.append(AuditEntry.action.startswith(f.action, autoescape=True))
    if f.target_type:
        conds.append(AuditEntry.target_type == f.target_type)
    if f.target_id:
        conds.append(AuditEntry.target_id == f.target_id)
    return conds


def search(f: AuditFilter, page: int, page_size: int = PAGE_SIZE) -> Page:
    conds = _where(f)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(*conds)) or 0
    items = list(db.session.scalars(
        sa.select(AuditEntry).where(*conds).order_by(AuditEntry.id.desc())
        .offset((page - 1) * page_size).limit(page_size)).all())
    for e in items:
        db.session.expunge(e)
    end_read()
    return Page(items, page, page_size, total)


def entry(entry_id: int) -> AuditEntry | None:
    e = db.session.get(AuditEntry, entry_id)
    if e is not None:
        db.session.expunge(e)
    end_read()
    return e
