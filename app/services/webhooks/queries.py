"""The read side of webhook endpoints for their API client (docs/API.md §10): its endpoints and
each one's deliveries, in the words of the contract.

Delivery states as the API names them (``WebhookDeliveryState``) from the stored ones: DELIVERED
is SUCCEEDED; a PENDING delivery whose last attempt failed (it waits for its retry) is FAILED; one
that has had no failed attempt yet is PENDING; DEAD is DEAD."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from ...domain.enums import DeliveryStatus, WebhookDeliveryState
from ...domain.errors import NotFound
from ...extensions import db
from ...models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ...models.types import UTCDateTime
from ..platform.paging import Page
from ..platform.unit_of_work import end_read
from .endpoints import EndpointInfo

MAX_PAGE_SIZE = 200
D = WebhookDelivery.__table__


def _visible(owner: int | None) -> sa.Select:
    stmt = sa.select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
    return stmt if owner is None else stmt.where(WebhookEndpoint.client_id == owner)


def _info(ep: WebhookEndpoint) -> EndpointInfo:
    return EndpointInfo(ep.id, ep.client_id, ep.url, ep.event_types, ep.enabled, ep.description, ep.created_at)


def get_endpoint(endpoint_id: int, owner: int | None) -> EndpointInfo:
    """One endpoint of ``owner`` (None: of any client); NotFound if deleted or another client's."""
    ep = db.session.scalar(_visible(owner).where(WebhookEndpoint.id == endpoint_id))
    info = _info(ep) if ep is not None else None
    end_read()
    if info is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return info


def list_endpoints(owner: int | None, page: int, page_size: int) -> Page:
    """``owner``'s endpoints, oldest first (items: EndpointInfo)."""
    size = min(page_size, MAX_PAGE_SIZE)
    base = _visible(owner)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    rows = db.session.scalars(base.order_by(WebhookEndpoint.id).offset((page - 1) * size).limit(size)).all()
    items = [_info(ep) for ep in rows]
    end_read()
    return Page(items, page, size, total)


def _state_filter(states: Sequence[WebhookDeliveryState]) -> sa.ColumnElement[bool]:
    failed_before = D.c.last_error.is_not(None)
    conditions = {
        WebhookDeliveryState.PENDING: sa.and_(D.c.status == DeliveryStatus.PENDING, ~failed_before),
        WebhookDeliveryState.FAILED: sa.and_(D.c.status == DeliveryStatus.PENDING, failed_before),
        WebhookDeliveryState.SUCCEEDED: D.c.status == DeliveryStatus.DELIVERED,
        WebhookDeliveryState.DEAD: D.c.status == DeliveryStatus.DEAD,
    }
    return sa.or_(*(conditions[s] for s in states))


def api_state(status: str, last_error: str | None) -> WebhookDeliveryState:
    if status == DeliveryStatus.DELIVERED:
        return WebhookDeliveryState.SUCCEEDED
    if status == DeliveryStatus.DEAD:
        return WebhookDeliveryState.DEAD
    return WebhookDeliveryState.FAILED if last_error is not None else WebhookDeliveryState.PENDING


def list_deliveries(endpoint_id: int, owner: int | None, states: Sequence[WebhookDeliveryState],
                    page: int, page_size: int) -> Page:
    """Deliveries of one endpoint, newest first, optionally only in ``states``. Items are dicts:
    id, event_id, event_type, state, attempts, last_status_code, last_attempt_at, next_attempt_at
    (None unless it is waiting to be sent)."""
    get_endpoint(endpoint_id, owner)
    size = min(page_size, MAX_PAGE_SIZE)
    where = [D.c.endpoint_id == endpoint_id]
    if states:
        where.append(_state_filter(states))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(D).where(*where)) or 0
    # Typed, so that SQLite's text comes back as an aware datetime.
    last_attempt = sa.type_coerce(sa.select(sa.func.max(WebhookAttempt.requested_at))
                                  .where(WebhookAttempt.delivery_id == D.c.id).scalar_subquery(), UTCDateTime())
    rows = db.session.execute(
        sa.select(D.c.id, D.c.status, D.c.attempts, D.c.last_status_code, D.c.last_error, D.c.next_attempt_at,
                  OutboxEvent.event_id, OutboxEvent.event_type, last_attempt.label("last_attempt_at"))
        .join(OutboxEvent, OutboxEvent.id == D.c.event_id).where(*where)
        .order_by(D.c.id.desc()).offset((page - 1) * size).limit(size)
    ).all()
    end_read()
    items = [{
        "id": r.id, "event_id": r.event_id, "event_type": r.event_type,
        "state": api_state(r.status, r.last_error), "attempts": r.attempts,
        "last_status_code": r.last_status_code, "last_attempt_at": r.last_attempt_at,
        "next_attempt_at": r.next_attempt_at if r.status == DeliveryStatus.PENDING else None,
    } for r in rows]
    return Page(items, page, size, total)

