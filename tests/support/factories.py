"""Factories for the rows most tests start from: resellers, API clients, users, channels and payment
orders. Plain functions that run in the caller's app context and commit; the fixtures of the
conftest.py files call them, and tests may too."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal

from app.extensions import db
from app.models import Channel, Reseller, User
from app.services.accounts import api_clients
from app.services.orders.creation import NewPaymentOrder, create_payment_order
from app.services.platform import crypto
from app.services.platform.actor import Actor

from .database import TEST_ACTOR

ALL_SCOPES = "payments,refunds,credit,finance,disburse,resellers,webhooks"
ORDER_API_CLIENT = Actor(type="api_client", id="test", client_id=None)


def make_reseller(code: str = "R1001", status: str = "ACTIVE", credit_limit: str = "0.00",
                  wallet: str = "0.00") -> int:
    """A reseller with that credit limit and wallet balance (no ledger entries); returns its id."""
    r = Reseller(code=code, name=f"Reseller {code}", status=status, credit_limit=Decimal(credit_limit),
                 credit_used=Decimal("0.00"), wallet_balance=Decimal(wallet), credit_term_days=30,
                 credit_status="ACTIVE", approval_threshold=Decimal("1000000.00"), version=1)
    db.session.add(r)
    db.session.commit()
    return r.id


def make_api_key(scopes: str = ALL_SCOPES, name: str | None = None) -> str:
    """A new API client with those scopes; returns its Bearer key."""
    _, key = api_clients.create_client(TEST_ACTOR, name or f"client-{uuid.uuid4().hex[:8]}",
                                       api_clients.parse_scopes(scopes))
    return key


def add_user(email: str, role: str, reseller_id: int | None = None) -> int:
    """A user row with no usable password (for service-level tests; screens use create_user)."""
    u = User(email=email, name=email, password_hash="x", role=role, locale="zh", active=True,
             session_version=1, reseller_id=reseller_id)
    db.session.add(u)
    db.session.flush()
    return u.id


def add_channel(code: str, kind: str, **kw) -> int:
    """A channel open to every reseller (min 0.01, no maximum, refunds allowed); ``secrets`` is stored
    encrypted; any other keyword sets that column. Returns its id."""
    defaults = dict(name=code, name_en=code, enabled=True, min_amount=Decimal("0.01"), max_amount=None,
                    daily_limit_per_reseller=None, supports_refund=True, supports_partial_refund=True,
                    confirm_timeout_seconds=900, expire_seconds=86400, available_to_all=True, config={},
                    sort_order=0)
    defaults.update(kw)
    secrets = defaults.pop("secrets", None)
    ch = Channel(code=code, kind=kind, **defaults)
    if secrets:
        ch.secrets_enc = crypto.encrypt(json.dumps(secrets))
    db.session.add(ch)
    db.session.flush()
    channel_id = ch.id
    db.session.commit()
    return channel_id


def create_order(order_id: str, reseller: str = "R1001", amount: str = "1000.00",
                 payment_type: str = "ADVANCE_PAYMENT", deadline: datetime | None = None,
                 actor: Actor = ORDER_API_CLIENT, **kw) -> str:
    """A payment order created through the service, as the order system would; returns its payment id."""
    outcome = create_payment_order(
        actor, NewPaymentOrder(order_id=order_id, reseller_code=reseller, payment_type=payment_type,
                               payment_amount=Decimal(amount), payment_deadline=deadline, **kw),
        idempotency_key=None, fingerprint="x")
    return outcome.order.payment_id
