"""Request and response schemas of the webhook endpoint routes (docs/API.md §10)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StrictBool, StrictInt, StringConstraints, model_validator

from ...domain import event_types as catalogue
from ...domain.enums import WebhookDeliveryState
from ...services.webhooks.endpoints import MAX_DESCRIPTION, MAX_URL
from .fields import TimeOut, text
from .schemas import MAX_PAGE, Request, Response, _field_error

EventTypeName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64)]


def _subscription(value: list[str]) -> list[str]:
    """``["*"]``, or types of the catalogue (duplicates dropped, order kept)."""
    types = list(dict.fromkeys(value))
    if catalogue.ALL in types:
        if len(types) > 1:
            raise ValueError('"*" (every type) cannot be combined with other types')
        return types
    unknown = [t for t in types if not catalogue.is_known(t)]
    if unknown:
        raise ValueError(f"unknown event type: {', '.join(unknown)} (GET /api/v1/integration/event-types "
                         'lists them; ["*"] subscribes to all)')
    return types


EventTypes = Annotated[
    list[EventTypeName], Field(min_length=1, max_length=len(catalogue.EventType),
                               description='types of GET /integration/event-types, or ["*"] for all'),
    AfterValidator(_subscription),
]
Url = Annotated[str, text(MAX_URL, 1), Field(description="http(s); not a loopback, private or link-local host "
                                                         "unless the deployment allows it (WEBHOOK_ALLOWED_HOSTS)")]
Description = Annotated[str, text(MAX_DESCRIPTION)]


class CreateWebhookEndpoint(Request):
    url: Url
    eventTypes: EventTypes
    description: Description | None = None


class UpdateWebhookEndpoint(Request):
    url: Url | None = None
    eventTypes: EventTypes | None = None
    description: Description | None = None
    enabled: StrictBool | None = None

    @model_validator(mode="after")
    def _something_to_change(self):
        if not self.model_fields_set:
            raise _field_error("body", "nothing to change: give url, eventTypes, description or enabled")
        return self


class WebhookEndpointOut(Response):
    endpointId: int
    url: str
    eventTypes: list[str]
    description: str
    enabled: bool
    createdAt: TimeOut


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    secret: str = Field(description="whsec_… (Standard Webhooks); shown in this answer only")


class DeliveriesQuery(Request):
    status: str | None = Field(default=None, description="comma list of PENDING, SUCCEEDED, FAILED, DEAD")
    page: StrictInt | None = Field(default=None, ge=1, le=MAX_PAGE)
    pageSize: StrictInt | None = Field(default=None, ge=1)


class WebhookDeliveryOut(Response):
    deliveryId: int
    eventId: str
    eventType: str
    status: WebhookDeliveryState
    attempts: int
    lastStatusCode: int | None
    lastAttemptAt: TimeOut
    nextAttemptAt: TimeOut


class ReplayOut(Response):
    deliveryId: int
    status: WebhookDeliveryState


class EventTypeOut(Response):
    type: str
    description: str
