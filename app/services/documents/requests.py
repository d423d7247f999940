"""Asking for a document. The same type, subject, owner and data version is one document: asking
again returns the row there is (a FAILED one is queued again, as a retry would), so a double click,
a repeated event or the schedule running twice renders nothing twice.

``request`` works in the caller's transaction (an event handler asks for a receipt in the
transaction that settles the payment); the render job is enqueued when that transaction commits
(``dispatch.after_commit``). ``request_now`` is the same in a transaction of its own.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import sqlalchemy as sa

from ...domain.enums import DocumentState
from ...domain.errors import ValidationFailed
from ...domain.numbers import business_number
from ...extensions import db
from ...models import Document
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import upsert
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from . import dispatch, registry, verification


def fingerprint(doc_type: str, subject: str, reseller_id: int | None, data_version: str) -> str:
    text = "\n".join((doc_type, subject, str(reseller_id or ""), data_version))
    return hashlib.sha256(text.encode()).hexdigest()


def request(actor: Actor, doc_type: str, *, subject: str, reseller_id: int | None, params: dict[str, Any] | None = None,
            period: tuple[date, date] | None = None, requested_by_user_id: int | None = None,
            data_version: str | None = None) -> Document:
    """The document of type ``doc_type`` about ``subject`` for ``reseller_id`` (None: a finance
    document) with the data as it is now: the existing row, or a new QUEUED one. In the caller's
    transaction; its render job is enqueued after commit. ``data_version``: the type's version of the
    data when the caller holds the data already (else the type reads it). Raises ValidationFailed for
    an unknown type."""
    if not registry.known(doc_type):
        raise ValidationFailed(f"unknown document type {doc_type!r}")
    kind = registry.get(doc_type)
    params = dict(params or {})
    version = data_version if data_version is not None else kind.data_version(params)
    fp = fingerprint(doc_type, subject, reseller_id, version)
    # One statement whether or not the row is there: a row of the same fingerprint (asked before, or
    # by a concurrent twin, whose commit PostgreSQL waits for) is left alone, and read below.
    doc = db.session.scalars(upsert.insert(Document).values(
        number=business_number("DOC"), kind=kind.kind.value, doc_type=doc_type, reseller_id=reseller_id,
        subject=subject, period_start=period[0] if period else None, period_end=period[1] if period else None,
        params=params, data_version=version, fingerprint=fp, state=DocumentState.QUEUED, attempts=0,
        verification_code=verification.new_code() if kind.verifiable else None,
        requested_by=actor.label[:64], requested_by_user_id=requested_by_user_id,
    ).on_conflict_do_nothing(index_elements=[Document.fingerprint]).returning(Document)).one_or_none()
    if doc is None:
        existing = _by_fingerprint(fp)
        assert existing is not None  # the conflict was on it, and documents are never deleted
        return _requeue_if_failed(actor, existing)
    audit.record(actor, "document.requested", "document", doc.number, None,
                 {"docType": doc_type, "subject": subject, "resellerId": reseller_id})
    dispatch.after_commit(doc.id, doc.number)
    return doc


def request_now(actor: Actor, doc_type: str, *, subject: str, reseller_id: int | None,
                params: dict[str, Any] | None = None, period: tuple[date, date] | None = None,
                requested_by_user_id: int | None = None) -> tuple[int, str]:
    """``request`` in a transaction of its own; the document's id and number."""
    with transaction():
        doc = request(actor, doc_type, subject=subject, reseller_id=reseller_id, params=params, period=period,
                      requested_by_user_id=requested_by_user_id)
        return doc.id, doc.number


def _by_fingerprint(fp: str) -> Document | None:
    return db.session.scalar(sa.select(Document).where(Document.fingerprint == fp))


def _requeue_if_failed(actor: Actor, doc: Document) -> Document:
    if doc.state == DocumentState.FAILED:
        requeue(actor, doc)
    return doc


def requeue(actor: Actor, doc: Document) -> None:
    """A FAILED document back to QUEUED (its reason kept in the audit log), enqueued after commit."""
    before = {"state": doc.state, "failureCode": doc.failure_code, "failureReason": doc.failure_reason}
    doc.state = DocumentState.QUEUED
    doc.failure_code = None
    doc.failure_reason = None
    doc.queued_at = now_utc()
    doc.rendering_started_at = None
    audit.record(actor, "document.requeued", "document", doc.number, before, {"state": DocumentState.QUEUED.value})
    dispatch.after_commit(doc.id, doc.number)
