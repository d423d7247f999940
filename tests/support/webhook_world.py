"""API clients, webhook endpoints and deliveries for the webhook and admin screens' tests (call inside an
app context): a client whose endpoint points at a local receiver, events sent to it for real. A pytest
plugin (tests/conftest.py ``pytest_plugins``): the ``client_id`` fixture is a new API client's id."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from app.domain.event_types import EventType
from app.extensions import db
from app.models import WebhookDelivery
from app.services.accounts import api_clients
from app.services.platform import outbox
from app.services.platform.unit_of_work import transaction
from app.services.webhooks import delivery as webhooks
from app.services.webhooks import endpoints as webhook_endpoints
from tests.support.database import TEST_ACTOR


def new_client(scopes: frozenset[str] = frozenset({"payments"})) -> tuple[int, str]:
    """A new active API client: its id and key."""
    client, key = api_clients.create_client(TEST_ACTOR, f"client-{uuid.uuid4().hex[:8]}", scopes)
    return client.id, key


@pytest.fixture
def client_id(ctx) -> int:
    """A new active API client with the payments scope, committed."""
    cid, _ = new_client()
    db.session.commit()
    return cid


def new_endpoint(client_id: int, url: str, event_types: str = "*") -> tuple[int, str]:
    """An endpoint (its host must be admitted: WEBHOOK_ALLOWED_HOSTS for 127.0.0.1): id and secret."""
    info, secret = webhook_endpoints.register_endpoint(TEST_ACTOR, client_id, url, event_types)
    return info.id, secret


def emit_event(order: str = "PO-1", event_type: EventType = EventType.PAYMENT_ORDER_STATUS_CHANGED) -> str:
    """One committed event, fanned out to the endpoints (not sent); returns its event id."""
    with transaction():
        event_id = outbox.emit(event_type, "payment_order", order,
                               {"orderId": order, "status": "PAID", "paidAmount": "10.00"})
    webhooks.fan_out()
    return event_id


def route_objects() -> dict:
    """A client with an endpoint (on a closed local port) and deliveries waiting to be sent (one named)."""
    client_id, _ = new_client()
    endpoint_id, _ = new_endpoint(client_id, "http://127.0.0.1:9/hooks")
    emit_event()
    delivery_id = deliveries_of(endpoint_id)[-1][0]  # earlier events of the world are fanned out too
    return {"api_client": client_id, "endpoint": endpoint_id, "delivery": delivery_id}


def deliveries_of(endpoint_id: int) -> list[tuple[int, str, int]]:
    """(id, stored status, attempts) of an endpoint's deliveries, oldest first."""
    rows = db.session.execute(sa.select(WebhookDelivery.id, WebhookDelivery.status, WebhookDelivery.attempts)
                              .where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.id)).all()
    db.session.commit()
    return [tuple(r) for r in rows]
