"""``notifyUrl`` delivery of a disbursement's final state (docs/DOMAIN.md §9, docs/API.md §9).

A final state writes, next to the ``disbursement.completed`` outbox event (for webhook endpoints),
a ``disbursement.notify`` outbox row when the order has a notifyUrl (``queue``). Those rows have
status NOTIFY (the webhook fan-out takes only PENDING rows), then SENT or DEAD; attempts and the
next due time are kept in the payload's ``_delivery``. ``deliver_notifications`` (worker) POSTs due
ones, signed Standard-Webhooks style (``webhook-id``/``webhook-timestamp``/``webhook-signature``,
see ``webhooks/sender.py``) with ``DISBURSE_NOTIFY_SECRET`` (a ``whsec_`` secret; derived from SECRET_KEY
when unset), under the webhooks' address policy (``webhooks/address_policy.py``: a private or loopback
receiver only if its host is in ``WEBHOOK_ALLOWED_HOSTS``, checked again at every send); 2xx =
delivered, else retried (5 s doubling) up to NOTIFY_MAX_ATTEMPTS, then DEAD."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ...domain.enums import OutboxStatus
from ...domain.event_types import NOTIFY_URL_ROW, EventType
from ...extensions import db
from ...models import Disbursement, OutboxEvent
from ...models.types import now_utc
from ..platform import outbox
from ..platform.unit_of_work import transaction
from ..webhooks import address_policy, connections
from ..webhooks import sender as webhook_sender

NOTIFY_MAX_ATTEMPTS = 8
NOTIFY_BASE = timedelta(seconds=5)
NOTIFY_LEASE = timedelta(seconds=60)


def queue(d: Disbursement, payload: dict, event_id: str, now: datetime) -> None:
    """In the transaction that made ``d`` final: its notifyUrl delivery, due now."""
    row = outbox.event_row(EventType.DISBURSEMENT_COMPLETED, "disbursement", d.order_no, {
        **payload, "_delivery": {"url": d.notify_url, "eventId": event_id, "attempts": 0, "nextAt": now.isoformat()}})
    row["event_type"] = NOTIFY_URL_ROW  # not an event of the catalogue: a delivery to one notifyUrl
    row["status"] = OutboxStatus.NOTIFY  # not PENDING: the webhook fan-out leaves it alone
    db.session.execute(sa.insert(OutboxEvent.__table__), row)


def notify_secret() -> str:
    secret = current_app.config.get("DISBURSE_NOTIFY_SECRET")
    if secret:
        return secret
    derived = hashlib.sha256(f"{current_app.config['SECRET_KEY']}:disburse-notify".encode()).digest()
    return webhook_sender.SECRET_PREFIX + base64.b64encode(derived).decode()


def deliver_notifications(now: datetime | None = None, batch: int = 50) -> dict[str, int]:
    """POST due ``disbursement.notify`` rows to their notifyUrl (signed), retrying with backoff
    (5 s doubling) up to NOTIFY_MAX_ATTEMPTS, then DEAD. 2xx = delivered."""
    now = now or now_utc()
    counts = {"sent": 0, "retrying": 0, "dead": 0}
    with transaction():
        stmt = (sa.select(OutboxEvent.id, OutboxEvent.payload).where(
            OutboxEvent.event_type == NOTIFY_URL_ROW, OutboxEvent.status == OutboxStatus.NOTIFY)
            .order_by(OutboxEvent.id).limit(batch * 4))
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = db.session.execute(stmt).all()
        due = [(r.id, r.payload) for r in rows
               if datetime.fromisoformat(r.payload["_delivery"]["nextAt"]) <= now][:batch]
        for row_id, payload in due:  # a lease: another worker does not send it meanwhile
            leased = {**payload, "_delivery": {**payload["_delivery"], "nextAt": (now + NOTIFY_LEASE).isoformat()}}
            db.session.execute(sa.update(OutboxEvent.__table__).where(OutboxEvent.id == row_id)
                               .values(payload=leased))
    allowed_hosts = address_policy.configured_allowed_hosts()
    timeout = float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS") or 10.0)
    secret = notify_secret()
    for row_id, payload in due:
        delivery = payload["_delivery"]
        body = json.dumps({"type": EventType.DISBURSEMENT_COMPLETED.value,
                           "data": {k: v for k, v in payload.items() if k != "_delivery"}},
                          separators=(",", ":"), ensure_ascii=False).encode()
        target = webhook_sender.Target(delivery_id=row_id, attempt_no=delivery["attempts"] + 1, endpoint_id=0,
                                     url=delivery["url"], secrets=(secret,),
                                     msg_id=delivery["eventId"], body=body)
        with connections.Connections(timeout) as pool:
            result = webhook_sender.send(target, webhook_sender.route(target.url, allowed_hosts), pool, timeout)
        attempts = delivery["attempts"] + 1
        if result.ok:
            status, counts["sent"] = OutboxStatus.SENT, counts["sent"] + 1
        elif attempts >= NOTIFY_MAX_ATTEMPTS:
            status, counts["dead"] = OutboxStatus.DEAD, counts["dead"] + 1
        else:
            status, counts["retrying"] = OutboxStatus.NOTIFY, counts["retrying"] + 1
        new_payload = {**payload, "_delivery": {**delivery, "attempts": attempts, "lastError": result.error,
                                                "nextAt": (now + NOTIFY_BASE * 2 ** (attempts - 1)).isoformat()}}
        with transaction():
            db.session.execute(sa.update(OutboxEvent.__table__).where(OutboxEvent.id == row_id)
                               .values(status=status, payload=new_payload, dispatched_at=now))
    return counts
