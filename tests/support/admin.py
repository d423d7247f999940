"""Helpers of the admin screens' tests: audit entries, and real failed RQ jobs made by a real worker."""

from __future__ import annotations

import sqlalchemy as sa
from rq.job import Job

from app.domain.enums import DeliveryStatus
from app.domain.event_types import EventType
from app.extensions import db
from app.models import ApiClient, AuditEntry, OutboxEvent, WebhookDelivery, WebhookEndpoint
from app.models.types import now_utc
from app.services.audit import log as audit
from app.services.platform import crypto, outbox
from app.services.platform.actor import Actor
from app.services.platform.queues import queue
from app.services.platform.unit_of_work import transaction
from tests.support.factories import make_api_key
from worker import build_worker


def audit_entry(action: str = "test.touch", target_type: str = "thing", target_id: str = "T1",
                actor: Actor | None = None, before: dict | None = None, after: dict | None = None) -> int:
    """One committed audit entry (needs an app context); its id."""
    with transaction():
        audit.record(actor or Actor(type="user", id="7"), action, target_type, target_id, before, after)
    return db.session.scalar(sa.select(sa.func.max(AuditEntry.id)))


def failed_job(queue_name: str = "low") -> Job:
    """A job of an app.jobs function called with an argument it does not take, run by a real worker
    (burst): it raises TypeError and lands in the queue's FailedJobRegistry. Needs an app context."""
    job = queue(queue_name).enqueue("app.jobs.maintenance.purge_idempotency_keys", "unexpected",
                                    failure_ttl=3600)
    build_worker([queue_name]).work(burst=True)
    return job


def tamper_audit_log(sql: str, params: dict) -> None:
    """What an attacker with table-owner rights would do: bypass the append-only triggers, then edit."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        db.session.execute(sa.text(sql), params)
        db.session.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    else:
        db.session.execute(sa.text("DROP TRIGGER audit_log_seal_only"))
        db.session.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        db.session.execute(sa.text(sql), params)
    db.session.commit()


def dead_delivery_and_disabled_endpoint() -> None:
    """An API client with two endpoints, one disabled, and a delivery of an event given up (DEAD)
    to the enabled one. Needs an app context."""
    make_api_key("payments", name="health-client")
    client_id = db.session.scalar(sa.select(ApiClient.id).where(ApiClient.name == "health-client"))
    with transaction():
        live = WebhookEndpoint(client_id=client_id, url="https://erp.example/hooks", secret_enc=crypto.encrypt("s"),
                               event_types="*", enabled=True, created_at=now_utc())
        off = WebhookEndpoint(client_id=client_id, url="https://erp.example/old", secret_enc=crypto.encrypt("s"),
                              event_types="*", enabled=False, created_at=now_utc())
        db.session.add_all([live, off])
        event_id = outbox.emit(EventType.PAYMENT_ORDER_CREATED, "payment_order", "P1", {})
    with transaction():  # the event is written when its transaction commits
        event = db.session.scalar(sa.select(OutboxEvent).where(OutboxEvent.event_id == event_id))
        db.session.add(WebhookDelivery(event_id=event.id, endpoint_id=live.id, status=DeliveryStatus.DEAD,
                                       attempts=8, last_error="connection refused"))
