"""The upstream systems hear the events (issue 15 point 6): the demo seed registers the sandbox's
receivers for the order, credit and finance systems; the portal's outbox delivers to the real
sandbox process over HTTP; the sandbox's page lists what each system received with its Standard
Webhooks signature verified (sandbox/PROTOCOL.md §12). The sandbox's verifier is checked against
the reference library (``standardwebhooks``) both ways."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from app.demo import data as demo_data
from app.demo import receivers as demo_receivers
from app.extensions import db
from app.models import WebhookEndpoint
from app.services.accounts import api_clients
from app.services.ledgers import wallet
from app.services.platform import crypto
from app.services.platform.unit_of_work import transaction
from app.services.webhooks import delivery as webhooks
from sandbox.testing import http_request, start_sandbox
from tests.support.api import API, CREATE, Api, assert_ok, order_body
from tests.support.database import TEST_ACTOR

SYSTEMS = ("order-system", "credit-system", "finance-system")


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="module")
def receiver_secrets():
    return {s: _secret() for s in SYSTEMS}


@pytest.fixture(scope="module")
def sandbox(receiver_secrets):
    gw = start_sandbox(webhook_secrets=receiver_secrets)
    yield gw
    gw.stop()


@pytest.fixture
def seeded_receivers(app, ctx, sandbox, receiver_secrets, monkeypatch, make_reseller):
    """What ``scripts/run`` + ``flask demo seed`` set up: the allow-list, the shared secrets, the
    demo client with the three receivers. Returns (the client's API caller, report lines)."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("SANDBOX_WEBHOOK_SECRETS", ",".join(f"{s}:{v}" for s, v in receiver_secrets.items()))
    monkeypatch.setattr(demo_data, "GATEWAY_URL", sandbox.base_url)
    sandbox.reset()  # the receipts of an earlier test go too
    client, key = api_clients.create_client(TEST_ACTOR, demo_data.API_CLIENT_NAME, demo_data.API_CLIENT_SCOPES)
    lines = demo_receivers.seed_receivers(TEST_ACTOR, client.id)
    make_reseller("R1001")
    return Api(app.test_client(), key), lines


def _deliver() -> dict:
    webhooks.fan_out()
    return webhooks.deliver_due()


def test_the_seeded_receivers_hear_their_events_verified(app, sandbox, seeded_receivers):
    upstream, lines = seeded_receivers
    assert any("webhook receivers registered: order-system, credit-system, finance-system "
               "(secrets from SANDBOX_WEBHOOK_SECRETS)" in line for line in lines), lines
    eps = {ep["description"]: ep for ep in assert_ok(upstream.get(f"{API}/webhook-endpoints"))["items"]}
    assert {ep["url"] for ep in eps.values()} == {f"{sandbox.base_url}/receivers/{s}" for s in SYSTEMS}

    # The order system: an order is stopped (status changed); the credit system: a reseller's
    # limit changes; the finance system: a wallet top-up.
    order = assert_ok(upstream.post(CREATE, json=order_body()), 201)
    assert_ok(upstream.patch(f"{API}/payment/{order['paymentId']}", json={"action": "STOP", "reason": "cancelled"}))
    assert_ok(upstream.put(f"{API}/resellers/R1001", json={"creditLimit": "80000.00"}))
    with transaction():
        reseller_id = db.session.scalar(sa.text("SELECT id FROM resellers WHERE code = 'R1001'"))
        wallet.top_up(TEST_ACTOR, reseller_id, Decimal("500.00"), "bank transfer received")
    assert _deliver()["delivered"] == 3

    got = sandbox.webhooks_received()
    expected = {"order-system": "payment_order.status_changed", "credit-system": "reseller.upserted",
                "finance-system": "wallet.changed"}
    for system, event_type in expected.items():
        rx = got[system]
        assert rx["secretConfigured"] and rx["total"] == rx["verifiedCount"] == 1, (system, rx)
        [item] = rx["items"]
        assert item["eventType"] == event_type and item["verified"] and item["problem"] is None
        assert json.loads(item["body"])["type"] == event_type
    assert json.loads(got["order-system"]["items"][0]["body"])["data"]["paymentStatus"] == "STOPPED"
    assert json.loads(got["credit-system"]["items"][0]["body"])["data"]["creditLimit"] == "80000.00"

    page = http_request("GET", sandbox.base_url + "/receivers")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count('data-verified="yes"') == 3 and 'data-verified="no"' not in page.text
    assert "payment_order.status_changed" in page.text and "wallet.changed" in page.text

    # A replay arrives with the same webhook-id: counted, not listed twice.
    [d] = assert_ok(upstream.get(f"{API}/webhook-endpoints/{eps['Order system (sandbox receiver)']['endpointId']}"
                                 "/deliveries"))["items"]
    assert d["status"] == "SUCCEEDED" and d["lastStatusCode"] == 200
    assert_ok(upstream.post(f"{API}/webhook-endpoints/{eps['Order system (sandbox receiver)']['endpointId']}"
                            f"/deliveries/{d['deliveryId']}/replay"), 202)
    _deliver()
    [item] = sandbox.webhooks_received()["order-system"]["items"]
    assert item["times"] == 2


def test_a_receiver_refuses_what_its_secret_did_not_sign(app, sandbox, seeded_receivers):
    """The portal's secret for one system differs from the sandbox's: the delivery is refused (401),
    kept as FAILED for a retry, and the page shows why."""
    upstream, _ = seeded_receivers
    with transaction():
        ep = db.session.scalar(sa.select(WebhookEndpoint).where(WebhookEndpoint.url.like("%/finance-system")))
        ep.secret_enc = crypto.encrypt(_secret())
    with transaction():
        reseller_id = db.session.scalar(sa.text("SELECT id FROM resellers WHERE code = 'R1001'"))
        wallet.top_up(TEST_ACTOR, reseller_id, Decimal("10.00"), "bank transfer received")
    assert _deliver()["retrying"] == 1
    rx = sandbox.webhooks_received()["finance-system"]
    assert (rx["total"], rx["verifiedCount"]) == (1, 0)
    assert rx["items"][0]["problem"] == "no signature matches the secret"
    [d] = assert_ok(upstream.get(f"{API}/webhook-endpoints/{ep.id}/deliveries"))["items"]
    assert (d["status"], d["lastStatusCode"]) == ("FAILED", 401)
    assert 'data-verified="no"' in http_request("GET", sandbox.base_url + "/receivers").text


def test_the_sandbox_verifier_agrees_with_the_reference_library(sandbox, receiver_secrets):
    secret = receiver_secrets["credit-system"]
    body = json.dumps({"type": "reseller.upserted", "timestamp": "2026-12-03T08:00:00Z",
                       "data": {"resellerId": "R1", "note": "信用额度"}}, ensure_ascii=False).encode()

    def post(headers: dict) -> int:
        return http_request("POST", sandbox.base_url + "/receivers/credit-system", body,
                            {**headers, "Content-Type": "application/json"}).status

    msg_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, body.decode())
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
    assert post(headers) == 200
    assert post({**headers, "webhook-signature": Webhook(_secret()).sign(msg_id, now, body.decode())}) == 401
    stale = datetime.fromtimestamp(time.time() - 400, UTC)
    assert post({"webhook-id": msg_id + "x", "webhook-timestamp": str(int(stale.timestamp())),
                 "webhook-signature": Webhook(secret).sign(msg_id + "x", stale, body.decode())}) == 401
    assert post({k: v for k, v in headers.items() if k != "webhook-signature"}) == 401
    r = http_request("POST", sandbox.base_url + "/receivers/nobody", body, headers)
    assert r.status == 404
    # The other way: what the sandbox would accept, the library accepts.
    Webhook(secret).verify(body, headers)


def test_without_the_allow_list_the_seed_registers_no_receiver(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "")
    client, _ = api_clients.create_client(TEST_ACTOR, "demo-upstream", demo_data.API_CLIENT_SCOPES)
    lines = demo_receivers.seed_receivers(TEST_ACTOR, client.id)
    assert lines == ["  webhook receivers: not registered (127.0.0.1 is not in WEBHOOK_ALLOWED_HOSTS)"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_a_second_seed_changes_nothing_and_follows_a_new_port_and_secret(app, ctx, monkeypatch, receiver_secrets):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("SANDBOX_WEBHOOK_SECRETS", ",".join(f"{s}:{v}" for s, v in receiver_secrets.items()))
    monkeypatch.setattr(demo_data, "GATEWAY_URL", "http://127.0.0.1:8001")
    client, _ = api_clients.create_client(TEST_ACTOR, "demo-upstream", demo_data.API_CLIENT_SCOPES)
    demo_receivers.seed_receivers(TEST_ACTOR, client.id)

    def state():
        rows = db.session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
        out = [(e.id, e.url, e.event_types, crypto.decrypt(e.secret_enc)) for e in rows]
        db.session.rollback()
        return out

    first = state()
    assert [(u.rsplit("/", 1)[1], s) for _, u, _, s in first] == list(receiver_secrets.items())
    assert first[0][2] == ("payment_order.status_changed,transaction.succeeded,transaction.failed,"
                           "merged_payment.completed")
    assert "reconciliation.completed" in first[2][2] and "refund.succeeded" in first[2][2]
    assert demo_receivers.seed_receivers(TEST_ACTOR, client.id) == [
        "  webhook receivers: already registered; see http://127.0.0.1:8001/receivers"]
    assert state() == first
    new_secret = _secret()
    monkeypatch.setattr(demo_data, "GATEWAY_URL", "http://127.0.0.1:9001")
    monkeypatch.setenv("SANDBOX_WEBHOOK_SECRETS", f"order-system:{new_secret}")
    lines = demo_receivers.seed_receivers(TEST_ACTOR, client.id)
    assert lines == ["  webhook receivers updated: order-system, credit-system, finance-system"]
    after = state()
    assert [u for _, u, _, _ in after] == [f"http://127.0.0.1:9001/receivers/{s}" for s in SYSTEMS]
    assert after[0][3] == new_secret and [s for *_, s in after[1:]] == [s for *_, s in first[1:]]
