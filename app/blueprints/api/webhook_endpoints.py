"""Webhook endpoint routes (docs/API.md §10; scope ``webhooks``). Each API client manages its own
endpoints: another client's endpoint, or a deleted one, is 404 like one that never existed."""

from __future__ import annotations

from flask import Response

from ...domain import event_types as catalogue
from ...domain.enums import Scope, WebhookDeliveryState
from ...domain.timeutil import to_shanghai_iso
from ...services.webhooks import delivery as webhook_delivery
from ...services.webhooks import endpoints as webhook_endpoints
from ...services.webhooks import queries as webhook_queries
from ...services.webhooks.endpoints import EndpointInfo
from .auth import current_actor, require_scopes
from .blueprint import bp
from .http import ApiError, json_body, ok, page_data, query_args, validate
from .openapi import operation
from .schemas import PageOut, PageQuery
from .webhook_schemas import (
    CreateWebhookEndpoint,
    DeliveriesQuery,
    EventTypeOut,
    ReplayOut,
    UpdateWebhookEndpoint,
    WebhookDeliveryOut,
    WebhookEndpointCreatedOut,
    WebhookEndpointOut,
)

BASE = "/integration/webhook-endpoints"
ONE = BASE + "/{endpointId}"
SCOPES = (Scope.WEBHOOKS,)


def _owner() -> int:
    client_id = current_actor().client_id
    assert client_id is not None  # require_scopes made the actor from an API client
    return client_id


def _id(value: str) -> int:
    """A path id: digits only (anything else names nothing: 404)."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise ApiError(404, "NOT_FOUND", "no such object")
    return int(value)


def endpoint_dict(info: EndpointInfo) -> dict:
    return {"endpointId": info.id, "url": info.url, "eventTypes": info.event_type_list,
            "description": info.description, "enabled": info.enabled, "createdAt": to_shanghai_iso(info.created_at)}


@bp.post("/integration/webhook-endpoints")
@operation("post", BASE, "Register a webhook endpoint (its signing secret is in this answer only)", scopes=SCOPES,
           body=CreateWebhookEndpoint, response=WebhookEndpointCreatedOut, status=201, tag="webhooks")
@require_scopes(*SCOPES)
def create_endpoint():
    body = validate(CreateWebhookEndpoint, json_body())
    info, secret = webhook_endpoints.register_endpoint(current_actor(), _owner(), body.url, body.eventTypes,
                                                       body.description)
    return ok({**endpoint_dict(info), "secret": secret}, 201, "created")


@bp.get("/integration/webhook-endpoints")
@operation("get", BASE, "This client's webhook endpoints (no secrets)", scopes=SCOPES, query=PageQuery,
           response=PageOut[WebhookEndpointOut], tag="webhooks")
@require_scopes(*SCOPES)
def list_endpoints():
    q = query_args(PageQuery)
    page = webhook_queries.list_endpoints(_owner(), q.page or 1, q.pageSize or 50)
    return ok(page_data([endpoint_dict(i) for i in page.items], page.page, page.page_size, page.total))


@bp.get("/integration/webhook-endpoints/<endpoint_id>")
@operation("get", ONE, "A webhook endpoint", scopes=SCOPES, response=WebhookEndpointOut, tag="webhooks")
@require_scopes(*SCOPES)
def show_endpoint(endpoint_id: str):
    return ok(endpoint_dict(webhook_queries.get_endpoint(_id(endpoint_id), _owner())))


@bp.patch("/integration/webhook-endpoints/<endpoint_id>")
@operation("patch", ONE, "Change a webhook endpoint's URL, event types, description or enabled", scopes=SCOPES,
           body=UpdateWebhookEndpoint, response=WebhookEndpointOut, tag="webhooks")
@require_scopes(*SCOPES)
def update_endpoint(endpoint_id: str):
    ident = _id(endpoint_id)
    body = validate(UpdateWebhookEndpoint, json_body())
    info = webhook_endpoints.update_endpoint(current_actor(), ident, url=body.url, event_types=body.eventTypes,
                                             enabled=body.enabled, description=body.description, owner=_owner())
    return ok(endpoint_dict(info), message="updated")


@bp.delete("/integration/webhook-endpoints/<endpoint_id>")
@operation("delete", ONE, "Delete a webhook endpoint (nothing more is sent to it)", scopes=SCOPES, status=204,
           tag="webhooks")
@require_scopes(*SCOPES)
def delete_endpoint(endpoint_id: str):
    webhook_endpoints.delete_endpoint(current_actor(), _id(endpoint_id), owner=_owner())
    return Response(status=204)


def _states(value: str | None) -> list[WebhookDeliveryState]:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    bad = [v for v in items if v not in WebhookDeliveryState.__members__]
    if bad:
        raise ApiError(422, "VALIDATION_ERROR", "invalid fields: status",
                       [{"field": "status", "message": f"unknown value(s): {', '.join(bad)} "
                                                       f"(one or more of {', '.join(WebhookDeliveryState)})"}])
    return [WebhookDeliveryState(v) for v in dict.fromkeys(items)]


@bp.get("/integration/webhook-endpoints/<endpoint_id>/deliveries")
@operation("get", ONE + "/deliveries", "Deliveries of a webhook endpoint, newest first (the attempt log)",
           scopes=SCOPES, query=DeliveriesQuery, response=PageOut[WebhookDeliveryOut], tag="webhooks")
@require_scopes(*SCOPES)
def list_deliveries(endpoint_id: str):
    ident = _id(endpoint_id)
    q = query_args(DeliveriesQuery)
    page = webhook_queries.list_deliveries(ident, _owner(), _states(q.status), q.page or 1, q.pageSize or 50)
    items = [{"deliveryId": d["id"], "eventId": d["event_id"], "eventType": d["event_type"], "status": d["state"],
              "attempts": d["attempts"], "lastStatusCode": d["last_status_code"],
              "lastAttemptAt": to_shanghai_iso(d["last_attempt_at"]),
              "nextAttemptAt": to_shanghai_iso(d["next_attempt_at"])} for d in page.items]
    return ok(page_data(items, page.page, page.page_size, page.total))


@bp.post("/integration/webhook-endpoints/<endpoint_id>/deliveries/<delivery_id>/replay")
@operation("post", ONE + "/deliveries/{deliveryId}/replay",
           "Send a delivery again from its first attempt, with the same webhook-id", scopes=SCOPES, status=202,
           response=ReplayOut, tag="webhooks")
@require_scopes(*SCOPES)
def replay_delivery(endpoint_id: str, delivery_id: str):
    ident = _id(delivery_id)
    webhook_delivery.replay(current_actor(), ident, endpoint_id=_id(endpoint_id), owner=_owner())
    return ok({"deliveryId": ident, "status": WebhookDeliveryState.PENDING}, 202, "accepted")


@bp.get("/integration/event-types")
@operation("get", "/integration/event-types", "Every event type the portal emits (what endpoints subscribe to)",
           scopes=SCOPES, query=PageQuery, response=PageOut[EventTypeOut], tag="webhooks")
@require_scopes(*SCOPES)
def event_types():
    q = query_args(PageQuery)
    items = [{"type": t, "description": d} for t, d in catalogue.catalogue()]
    page, size = q.page or 1, min(q.pageSize or 50, webhook_queries.MAX_PAGE_SIZE)
    return ok(page_data(items[(page - 1) * size: page * size], page, size, len(items)))
