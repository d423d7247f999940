"""The sandbox's webhook receivers registered as endpoints of the demo API client, so that a new
user sees deliveries arrive (the sandbox page ``/receivers`` lists what each system received, its
signature verified): the order system hears order statuses and payment results, the credit system
repayments and credit limits (reseller master data), the finance system settlements, refunds,
payouts and the daily reconciliation.

Their secrets come from SANDBOX_WEBHOOK_SECRETS (``order-system:whsec_…,…``), the sandbox's own
setting, as the channels' come from SANDBOX_MERCHANTS; without it they are generated and the
sandbox cannot verify. The receivers are on 127.0.0.1: they are registered only where that host is
in WEBHOOK_ALLOWED_HOSTS (``scripts/run`` puts it there). Idempotent: an endpoint is found again by
its description; its URL follows the sandbox's port and its secret the setting.
"""

from __future__ import annotations

import os
from datetime import timedelta

import sqlalchemy as sa

from ..domain.event_types import EventType
from ..extensions import db
from ..models import WebhookEndpoint
from ..services.platform import crypto
from ..services.platform.actor import Actor
from ..services.webhooks import address_policy
from ..services.webhooks import endpoints as webhook_endpoints
from . import data as demo_data

RECEIVER_HOST = "127.0.0.1"
SUBSCRIPTIONS: dict[str, tuple[str, tuple[EventType, ...]]] = {
    "order-system": ("Order system (sandbox receiver)", (
        EventType.PAYMENT_ORDER_STATUS_CHANGED, EventType.TRANSACTION_SUCCEEDED, EventType.TRANSACTION_FAILED,
        EventType.MERGED_PAYMENT_COMPLETED)),
    "credit-system": ("Credit system (sandbox receiver)", (
        EventType.CREDIT_REPAYMENT_COMPLETED, EventType.CREDIT_REPAYMENT_FAILED, EventType.RESELLER_UPSERTED)),
    "finance-system": ("Finance system (sandbox receiver)", (
        EventType.TRANSACTION_SUCCEEDED, EventType.MERGED_PAYMENT_COMPLETED, EventType.REFUND_CREATED,
        EventType.REFUND_SUCCEEDED, EventType.REFUND_FAILED, EventType.WALLET_CHANGED,
        EventType.DISBURSEMENT_COMPLETED, EventType.RECONCILIATION_COMPLETED,
        EventType.RECONCILIATION_EXCEPTIONS_FOUND)),
}


def receiver_secrets() -> dict[str, str]:
    """SANDBOX_WEBHOOK_SECRETS as {system: secret}; malformed entries are left out."""
    out = {}
    for spec in os.environ.get("SANDBOX_WEBHOOK_SECRETS", "").split(","):
        system, sep, secret = spec.strip().partition(":")
        if sep and system in SUBSCRIPTIONS and secret.startswith("whsec_"):
            out[system] = secret
    return out


def seed_receivers(actor: Actor, client_id: int) -> list[str]:
    """Register (or bring up to date) the three receivers; returns report lines."""
    if RECEIVER_HOST not in address_policy.configured_allowed_hosts():
        return [f"  webhook receivers: not registered ({RECEIVER_HOST} is not in WEBHOOK_ALLOWED_HOSTS)"]
    secrets = receiver_secrets()
    existing = {ep.description: (ep.id, ep.url, ep.secret_enc) for ep in db.session.scalars(
        sa.select(WebhookEndpoint).where(WebhookEndpoint.client_id == client_id, WebhookEndpoint.deleted_at.is_(None)))}
    db.session.rollback()  # end the read: registration resolves names with no transaction open
    made, changed = [], []
    for system, (description, types) in SUBSCRIPTIONS.items():
        url = f"{demo_data.GATEWAY_URL}/receivers/{system}"
        secret = secrets.get(system)
        found = existing.get(description)
        if found is None:
            webhook_endpoints.register_endpoint(actor, client_id, url, types, description, secret=secret)
            made.append(system)
            continue
        endpoint_id, old_url, secret_enc = found
        if old_url != url:
            webhook_endpoints.update_endpoint(actor, endpoint_id, url=url)
            changed.append(system)
        if secret and crypto.decrypt(secret_enc) != secret:
            webhook_endpoints.rotate_secret(actor, endpoint_id, grace=timedelta(0), secret=secret)
            changed.append(system)
    lines = []
    if made:
        how = "secrets from SANDBOX_WEBHOOK_SECRETS" if secrets else "generated secrets: the sandbox cannot verify"
        lines.append(f"  webhook receivers registered: {', '.join(made)} ({how}); "
                     f"see {demo_data.GATEWAY_URL}/receivers")
    if changed:
        lines.append(f"  webhook receivers updated: {', '.join(dict.fromkeys(changed))}")
    return lines or [f"  webhook receivers: already registered; see {demo_data.GATEWAY_URL}/receivers"]
