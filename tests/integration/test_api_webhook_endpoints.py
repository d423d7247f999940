"""Webhook endpoints through the JSON API (docs/API.md §10): create / list / show / patch / delete,
the delivery log, replay, the event-type list; scope ``webhooks``; each client sees only its own
endpoints; bad input is 422 (400 for a body that is not JSON) and stores nothing; the address
policy (docs/SECURITY.md "Callbacks in, webhooks out") at registration and again at every send.

Deliveries go to a real HTTP receiver (a server thread on 127.0.0.1, allowed through
WEBHOOK_ALLOWED_HOSTS) that verifies each one with the Standard Webhooks reference library
(``standardwebhooks``) and answers 400 to a request it cannot verify."""

from __future__ import annotations

import json
import re
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook, WebhookVerificationError

from app.blueprints.api.webhook_schemas import WebhookDeliveryOut, WebhookEndpointCreatedOut, WebhookEndpointOut
from app.domain.event_types import RESERVED, EventType, catalogue
from app.extensions import db
from app.models import AuditEntry, OutboxEvent, WebhookDelivery, WebhookEndpoint
from app.models.types import now_utc
from app.services.platform import crypto, outbox
from app.services.platform.unit_of_work import transaction
from app.services.webhooks import delivery as webhooks
from sandbox.testing import CallbackReceiver, ReceivedRequest
from tests.support.api import API, CREATE, assert_error, assert_ok, conforms, order_body, send

ENDPOINTS = f"{API}/webhook-endpoints"
EVENT_TYPES = f"{API}/event-types"
PUBLIC = "https://93.184.215.14/hooks"  # a public address: registered, never sent to by these tests
FIELDS = {"endpointId", "url", "eventTypes", "description", "enabled", "createdAt"}


def one(endpoint_id) -> str:
    return f"{ENDPOINTS}/{endpoint_id}"


def deliveries_url(endpoint_id) -> str:
    return f"{ENDPOINTS}/{endpoint_id}/deliveries"


def replay_url(endpoint_id, delivery_id) -> str:
    return f"{ENDPOINTS}/{endpoint_id}/deliveries/{delivery_id}/replay"


@pytest.fixture(autouse=True)
def sandbox_host_allowed(app, monkeypatch):
    """As the run command does for its sandbox: 127.0.0.1 may receive webhooks."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")


@pytest.fixture
def hooks(api_with, reseller):
    """An upstream system with the ``webhooks`` scope (and ``payments``, to cause events for R1001)."""
    return api_with("webhooks,payments")


@pytest.fixture
def other(api_with):
    return api_with("webhooks")


@pytest.fixture
def webhook_rows(app):
    """webhook_rows() -> (endpoints, deliveries, audit entries): what a refused request must not change."""

    def counts():
        with app.app_context():
            return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                         for m in (WebhookEndpoint, WebhookDelivery, AuditEntry))

    return counts


class VerifyingReceiver(CallbackReceiver):
    """A real receiver that keeps the secret it was given and verifies each request with the
    reference library: 200 if the signature holds (or ``fail_with`` while it is set), else 400."""

    def __init__(self):
        super().__init__()
        self.secret: str | None = None
        self.fail_with: int | None = None
        self.verified: list[dict] = []
        self.refused: list[str] = []
        self.responder = self._verify

    def _verify(self, req: ReceivedRequest) -> tuple[int, bytes]:
        try:
            payload = Webhook(self.secret or "whsec_" + "A" * 43).verify(req.body, req.headers)
        except WebhookVerificationError as exc:
            self.refused.append(str(exc))
            return 400, b"bad signature"
        if self.fail_with:
            return self.fail_with, b"receiver down"
        self.verified.append(payload)
        return 200, b"ok"


@pytest.fixture
def receiver():
    with VerifyingReceiver() as rx:
        yield rx


def register(caller, url=PUBLIC, event_types=("*",), **extra) -> dict:
    return assert_ok(caller.post(ENDPOINTS, json={"url": url, "eventTypes": list(event_types), **extra}), 201)


def deliver(app, at=None) -> dict:
    """What the worker's dispatch_outbox does: fan the outbox out, send what is due."""
    with app.app_context():
        webhooks.fan_out(now=at)
        return webhooks.deliver_due(now=at)


# --- create, show, list ------------------------------------------------------------------------------------

def test_create_answers_the_secret_once_and_stores_it_encrypted(app, hooks):
    data = register(hooks, event_types=["*"], description="order system")
    conforms(WebhookEndpointCreatedOut, data)
    assert set(data) == FIELDS | {"secret"}
    assert data["url"] == PUBLIC and data["eventTypes"] == ["*"] and data["enabled"] is True
    assert data["description"] == "order system" and data["createdAt"].endswith("+08:00")
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", data["secret"])
    shown = assert_ok(hooks.get(one(data["endpointId"])))
    conforms(WebhookEndpointOut, shown)
    assert shown == {k: v for k, v in data.items() if k != "secret"}
    listed = assert_ok(hooks.get(ENDPOINTS))
    assert listed == {"items": [shown], "page": 1, "pageSize": 50, "total": 1}
    with app.app_context():
        ep = db.session.get(WebhookEndpoint, data["endpointId"])
        assert data["secret"] not in ep.secret_enc and crypto.decrypt(ep.secret_enc) == data["secret"]
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "webhook_endpoint.create"))
        assert entry.actor_type == "api_client" and data["secret"] not in json.dumps(entry.after)


def test_types_are_kept_as_given_and_the_list_pages(hooks):
    data = register(hooks, event_types=["transaction.succeeded", "payment_order.created", "transaction.succeeded"])
    assert data["eventTypes"] == ["transaction.succeeded", "payment_order.created"]
    for _ in range(2):
        register(hooks)
    page = assert_ok(hooks.get(ENDPOINTS, query_string={"page": 2, "pageSize": 2}))
    assert page["total"] == 3 and page["pageSize"] == 2 and len(page["items"]) == 1
    assert assert_ok(hooks.get(ENDPOINTS, query_string={"pageSize": 500}))["pageSize"] == 200
    assert_error(hooks.get(ENDPOINTS, query_string={"page": 0}), 422, "VALIDATION_ERROR", ["page"])


def test_event_types_lists_the_catalogue(hooks):
    data = assert_ok(hooks.get(EVENT_TYPES))
    assert data["total"] == len(EventType) and data["page"] == 1
    assert [(i["type"], i["description"]) for i in data["items"]] == catalogue()
    types = {i["type"] for i in data["items"]}
    assert {"payment_order.status_changed", "transaction.succeeded", "refund.succeeded", "alert.raised",
            "wallet.changed", "merged_payment.completed", "voucher.uploaded", "voucher.rejected",
            "disbursement_batch.completed", "reconciliation.completed", "reconciliation.exceptions_found",
            "statement.ready"} <= types
    reserved = {i["type"] for i in data["items"] if "Not emitted by this version yet" in i["description"]}
    assert reserved == {t.value for t in RESERVED}
    # Every listed type can be subscribed to.
    register(hooks, event_types=sorted(types))


# --- bad input: 422 naming the field, nothing stored ------------------------------------------------------

BAD_BODIES = {
    "no_url": ({"eventTypes": ["*"]}, "url"),
    "no_event_types": ({"url": PUBLIC}, "eventTypes"),
    "empty_event_types": ({"url": PUBLIC, "eventTypes": []}, "eventTypes"),
    "unknown_type": ({"url": PUBLIC, "eventTypes": ["payment_order.created", "payment_order.paid"]}, "eventTypes"),
    "star_and_more": ({"url": PUBLIC, "eventTypes": ["*", "alert.raised"]}, "eventTypes"),
    "prefix": ({"url": PUBLIC, "eventTypes": ["payment_order.*"]}, "eventTypes"),
    "types_as_text": ({"url": PUBLIC, "eventTypes": "payment_order.created"}, "eventTypes"),
    "type_not_text": ({"url": PUBLIC, "eventTypes": [7]}, "eventTypes.0"),
    "url_not_text": ({"url": 8080, "eventTypes": ["*"]}, "url"),
    "url_empty": ({"url": "", "eventTypes": ["*"]}, "url"),
    "url_too_long": ({"url": PUBLIC + "/" + "x" * 500, "eventTypes": ["*"]}, "url"),
    "description_too_long": ({"url": PUBLIC, "eventTypes": ["*"], "description": "说" * 501}, "description"),
    "description_not_text": ({"url": PUBLIC, "eventTypes": ["*"], "description": 5}, "description"),
    "unknown_field": ({"url": PUBLIC, "eventTypes": ["*"], "secret": "whsec_mine"}, "secret"),
    "enabled_on_create": ({"url": PUBLIC, "eventTypes": ["*"], "enabled": False}, "enabled"),
}


@pytest.mark.parametrize("name", BAD_BODIES)
def test_a_bad_body_is_422_naming_the_field(hooks, webhook_rows, name):
    body, field = BAD_BODIES[name]
    before = webhook_rows()
    err = assert_error(hooks.post(ENDPOINTS, json=body), 422, "VALIDATION_ERROR", [field])
    if name == "unknown_type":
        assert "payment_order.paid" in err["errors"][0]["message"]
        assert "payment_order.created" not in err["errors"][0]["message"]
    assert webhook_rows() == before


@pytest.mark.parametrize(("data", "content_type"), [
    ("{not json", "application/json"), ('{"url": "http://a", "eventTypes": ["*"]}', "text/plain"),
    ('["*"]', "application/json"), ("", "application/json"),
])
def test_a_body_that_is_not_a_json_object_is_400(hooks, webhook_rows, data, content_type):
    before = webhook_rows()
    assert_error(send(hooks, "POST", ENDPOINTS, data, content_type), 400, "BAD_REQUEST")
    assert webhook_rows() == before


# --- the address policy at registration ---------------------------------------------------------------

REFUSED_URLS = [
    "ftp://93.184.215.14/hooks", "file:///etc/passwd", "gopher://93.184.215.14/", "javascript:alert(1)",
    "hooks.example.com/no-scheme", "http:///no-host", "http://user:secret@93.184.215.14/",
    "http://127.0.0.2/", "http://localhost:8001/hooks", "http://[::1]/", "http://0.0.0.0/",
    "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.10/", "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://[fc00::1]/",
    "http://[::ffff:10.0.0.1]/", "http://[fd00:ec2::254]/", "http://224.0.0.1/", "http://240.0.0.1/",
    "http://no-such-host.invalid/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_urls_outside_the_address_policy_are_refused(hooks, webhook_rows, url):
    before = webhook_rows()
    assert_error(hooks.post(ENDPOINTS, json={"url": url, "eventTypes": ["*"]}), 422, "VALIDATION_ERROR", ["url"])
    assert webhook_rows() == before


def test_the_allow_list_admits_its_hosts_only_and_never_a_metadata_address(app, hooks, monkeypatch):
    register(hooks, url="http://127.0.0.1:8001/sandbox")  # the autouse fixture allows 127.0.0.1
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "")
    assert_error(hooks.post(ENDPOINTS, json={"url": "http://127.0.0.1:8001/sandbox", "eventTypes": ["*"]}),
                 422, "VALIDATION_ERROR", ["url"])
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "169.254.169.254, 10.0.0.7")
    register(hooks, url="http://10.0.0.7/hooks")
    err = assert_error(hooks.post(ENDPOINTS, json={"url": "http://169.254.169.254/", "eventTypes": ["*"]}),
                       422, "VALIDATION_ERROR", ["url"])
    assert "metadata" in err["errors"][0]["message"]


def test_a_patched_url_is_checked_like_a_new_one(hooks, webhook_rows):
    ep = register(hooks)
    before = webhook_rows()
    assert_error(hooks.patch(one(ep["endpointId"]), json={"url": "http://10.0.0.1/"}), 422, "VALIDATION_ERROR",
                 ["url"])
    assert webhook_rows() == before
    assert assert_ok(hooks.get(one(ep["endpointId"])))["url"] == PUBLIC


# --- patch and delete ----------------------------------------------------------------------------------

def test_patch_changes_what_is_given(app, hooks):
    ep = register(hooks, description="first")
    eid = ep["endpointId"]
    data = assert_ok(hooks.patch(one(eid), json={"eventTypes": ["refund.succeeded", "refund.failed"]}))
    assert data["eventTypes"] == ["refund.succeeded", "refund.failed"] and data["description"] == "first"
    data = assert_ok(hooks.patch(one(eid), json={"enabled": False, "description": "", "url": PUBLIC + "/v2"}))
    assert (data["enabled"], data["description"], data["url"]) == (False, "", PUBLIC + "/v2")
    conforms(WebhookEndpointOut, data)
    assert "secret" not in data
    assert assert_ok(hooks.get(one(eid))) == data
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_id == str(eid))
                                      .order_by(AuditEntry.id)).all()
        assert actions == ["webhook_endpoint.create", "webhook_endpoint.update", "webhook_endpoint.update"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "body"), ({"enabled": "yes"}, "enabled"), ({"enabled": 1}, "enabled"), ({"eventTypes": ["nope"]},
                                                                                   "eventTypes"),
    ({"secret": "x"}, "secret"), ({"endpointId": 9}, "endpointId"), ({"url": ""}, "url"),
])
def test_a_bad_patch_is_422_and_changes_nothing(hooks, webhook_rows, body, field):
    ep = register(hooks)
    before = webhook_rows()
    assert_error(hooks.patch(one(ep["endpointId"]), json=body), 422, "VALIDATION_ERROR", [field])
    assert webhook_rows() == before
    assert assert_ok(hooks.get(one(ep["endpointId"]))) == {k: v for k, v in ep.items() if k != "secret"}


def test_delete_stops_later_deliveries_and_hides_the_endpoint(app, hooks, receiver):
    ep = register(hooks, url=receiver.url("/hooks"))
    receiver.secret = ep["secret"]
    eid = ep["endpointId"]
    assert_ok(hooks.post(CREATE, json=order_body(orderId="SO-DEL-1")), 201)  # an event due for it
    with app.app_context():
        webhooks.fan_out()
    r = hooks.delete(one(eid))
    assert r.status_code == 204 and r.data == b""
    assert_ok(hooks.post(CREATE, json=order_body(orderId="SO-DEL-2")), 201)  # and one after
    assert deliver(app)["claimed"] == 0
    assert receiver.requests == []
    for method, url in (("GET", one(eid)), ("PATCH", one(eid)), ("DELETE", one(eid)), ("GET", deliveries_url(eid))):
        r = hooks.client.open(url, method=method, headers=hooks._headers(), json={"enabled": True})
        assert_error(r, 404, "NOT_FOUND")
    assert assert_ok(hooks.get(ENDPOINTS))["total"] == 0
    with app.app_context():
        assert db.session.get(WebhookEndpoint, eid).deleted_at is not None  # the log stays
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 1


# --- isolation and scopes ----------------------------------------------------------------------------------

def test_a_client_never_sees_or_changes_another_clients_endpoints(app, hooks, other, receiver, webhook_rows):
    mine = register(hooks, url=receiver.url("/hooks"))
    receiver.secret = mine["secret"]
    assert_ok(hooks.post(CREATE, json=order_body()), 201)
    deliver(app)
    [d] = assert_ok(hooks.get(deliveries_url(mine["endpointId"])))["items"]
    theirs = register(other)
    assert [e["endpointId"] for e in assert_ok(other.get(ENDPOINTS))["items"]] == [theirs["endpointId"]]
    assert [e["endpointId"] for e in assert_ok(hooks.get(ENDPOINTS))["items"]] == [mine["endpointId"]]
    before = webhook_rows()
    eid = mine["endpointId"]
    for r in (other.get(one(eid)), other.patch(one(eid), json={"enabled": False}), other.delete(one(eid)),
              other.get(deliveries_url(eid)), other.post(replay_url(eid, d["deliveryId"])),
              # its own endpoint id with my delivery
              other.post(replay_url(theirs["endpointId"], d["deliveryId"])),
              hooks.get(one(eid + 1000)), hooks.get(one("abc")), hooks.get(one("1e3")), hooks.get(one("-1")),
              hooks.post(replay_url(eid, d["deliveryId"] + 1000))):
        assert_error(r, 404, "NOT_FOUND")
    assert webhook_rows() == before
    assert assert_ok(hooks.get(one(eid)))["enabled"] is True


def test_every_route_needs_the_webhooks_scope(app, api_with, hooks, webhook_rows):
    ep = register(hooks)
    eid = ep["endpointId"]
    without = api_with("payments,refunds,credit,finance,disburse,resellers")
    before = webhook_rows()
    for method, url in (("POST", ENDPOINTS), ("GET", ENDPOINTS), ("GET", one(eid)), ("PATCH", one(eid)),
                        ("DELETE", one(eid)), ("GET", deliveries_url(eid)), ("POST", replay_url(eid, 1)),
                        ("GET", EVENT_TYPES)):
        body = {"url": PUBLIC, "eventTypes": ["*"]} if method == "POST" else {"enabled": False}
        r = without.client.open(url, method=method, headers=without._headers(), json=body)
        assert_error(r, 403, "FORBIDDEN")
        r = without.client.open(url, method=method, json=body)
        assert_error(r, 401, "UNAUTHORIZED")
    assert webhook_rows() == before


# --- deliveries: signed, logged, replayed -------------------------------------------------------------------

def test_a_delivery_is_signed_per_standard_webhooks_and_logged(app, hooks, receiver):
    ep = register(hooks, url=receiver.url("/order-system"), event_types=["payment_order.created"])
    receiver.secret = ep["secret"]
    order = assert_ok(hooks.post(CREATE, json=order_body()), 201)
    assert deliver(app)["delivered"] == 1
    [req] = receiver.requests
    assert receiver.refused == []
    [payload] = receiver.verified
    assert payload["type"] == "payment_order.created"
    assert payload["data"]["paymentId"] == order["paymentId"] and payload["data"]["paymentAmount"] == "1250000.00"
    with app.app_context():
        event_id = db.session.scalar(sa.select(OutboxEvent.event_id).where(OutboxEvent.aggregate_id
                                                                           == order["paymentId"]))
    assert req.headers["webhook-id"] == event_id
    # Verification is real: another secret, or a changed body, is refused by the same library.
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "B" * 43).verify(req.body, req.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(ep["secret"]).verify(req.body.replace(b"1250000.00", b"1.00"), req.headers)

    page = assert_ok(hooks.get(deliveries_url(ep["endpointId"])))
    [d] = page["items"]
    conforms(WebhookDeliveryOut, d)
    assert d["eventId"] == event_id and d["eventType"] == "payment_order.created"
    assert (d["status"], d["attempts"], d["lastStatusCode"], d["nextAttemptAt"]) == ("SUCCEEDED", 1, 200, None)
    assert d["lastAttemptAt"].endswith("+08:00")


def test_a_failed_delivery_is_listed_retried_and_replayed_then_dead_ones_too(app, hooks, receiver):
    ep = register(hooks, url=receiver.url("/finance"))
    eid = ep["endpointId"]
    receiver.secret, receiver.fail_with = ep["secret"], 503
    assert_ok(hooks.post(CREATE, json=order_body()), 201)
    t0 = now_utc()
    assert deliver(app, t0)["retrying"] == 1
    [d] = assert_ok(hooks.get(deliveries_url(eid)))["items"]
    assert (d["status"], d["attempts"], d["lastStatusCode"]) == ("FAILED", 1, 503)
    assert d["nextAttemptAt"] is not None
    assert assert_ok(hooks.get(deliveries_url(eid), query_string={"status": "FAILED"}))["total"] == 1
    assert assert_ok(hooks.get(deliveries_url(eid), query_string={"status": "SUCCEEDED,DEAD"}))["total"] == 0
    assert_error(hooks.get(deliveries_url(eid), query_string={"status": "DELIVERED"}), 422, "VALIDATION_ERROR",
                 ["status"])

    # The receiver is back: replay sends it now, not at its retry time.
    receiver.fail_with = None
    r = hooks.post(replay_url(eid, d["deliveryId"]))
    assert assert_ok(r, 202) == {"deliveryId": d["deliveryId"], "status": "PENDING"}
    [queued] = assert_ok(hooks.get(deliveries_url(eid)))["items"]
    assert (queued["status"], queued["attempts"]) == ("PENDING", 0)
    assert_error(hooks.post(replay_url(eid, d["deliveryId"])), 409, "STATE_CONFLICT")  # nothing to replay yet
    assert deliver(app)["delivered"] == 1
    [done] = assert_ok(hooks.get(deliveries_url(eid)))["items"]
    assert (done["status"], done["attempts"], done["lastStatusCode"]) == ("SUCCEEDED", 1, 200)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1 and len(receiver.requests) == 2

    # A receiver down for the whole schedule: DEAD, then replayed and delivered.
    receiver.fail_with = 500
    assert_ok(hooks.post(CREATE, json=order_body(orderId="SO-DEAD")), 201)
    at = now_utc()
    for _ in range(webhooks.MAX_ATTEMPTS):
        deliver(app, at)
        at += timedelta(days=1)
    dead = assert_ok(hooks.get(deliveries_url(eid), query_string={"status": "DEAD"}))["items"]
    assert [(x["attempts"], x["lastStatusCode"], x["nextAttemptAt"]) for x in dead] == [
        (webhooks.MAX_ATTEMPTS, 500, None)]
    receiver.fail_with = None
    assert_ok(hooks.post(replay_url(eid, dead[0]["deliveryId"])), 202)
    # The replayed one, and the alert its death raised (alert.raised; the endpoint subscribes to *).
    assert deliver(app)["delivered"] == 2
    succeeded = assert_ok(hooks.get(deliveries_url(eid), query_string={"status": "SUCCEEDED"}))["items"]
    assert sorted(x["eventType"] for x in succeeded) == sorted(
        ["payment_order.created", "payment_order.created", "alert.raised"])
    assert dead[0]["deliveryId"] in {x["deliveryId"] for x in succeeded}
    assert receiver.refused == []
    with app.app_context():
        replays = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                    .where(AuditEntry.action == "webhook_delivery.replay",
                                           AuditEntry.actor_type == "api_client"))
    assert replays == 2


def test_a_delivery_that_succeeded_can_be_replayed_with_the_same_id(app, hooks, receiver):
    ep = register(hooks, url=receiver.url("/credit"))
    receiver.secret = ep["secret"]
    assert_ok(hooks.post(CREATE, json=order_body()), 201)
    deliver(app)
    [d] = assert_ok(hooks.get(deliveries_url(ep["endpointId"])))["items"]
    assert_ok(hooks.post(replay_url(ep["endpointId"], d["deliveryId"])), 202)
    deliver(app)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] and first.body == second.body
    assert len(receiver.verified) == 2


def test_a_disabled_endpoint_gets_nothing_until_enabled(app, hooks, receiver):
    ep = register(hooks, url=receiver.url("/hooks"))
    receiver.secret = ep["secret"]
    assert_ok(hooks.patch(one(ep["endpointId"]), json={"enabled": False}))
    assert_ok(hooks.post(CREATE, json=order_body()), 201)
    deliver(app)
    assert receiver.requests == []
    assert_ok(hooks.patch(one(ep["endpointId"]), json={"enabled": True}))
    assert_ok(hooks.post(CREATE, json=order_body(orderId="SO-2")), 201)
    deliver(app)
    assert len(receiver.verified) == 1  # events while disabled are not fanned out to it


# --- the address policy at send time (DNS rebinding) -------------------------------------------------------

def test_a_name_that_later_resolves_inside_is_not_called(app, hooks, receiver, monkeypatch):
    """The name resolved to a public address when registered and to loopback when the delivery is
    due (what a rebinding DNS server does): nothing is sent, the attempt is logged as refused.
    The resolver is replaced for this test: no DNS server that changes its answers runs here."""
    port = receiver.base_url.rsplit(":", 1)[1]
    answers = {"hooks.rebind.test": "93.184.215.14"}
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], int(port)))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    ep = register(hooks, url=f"http://hooks.rebind.test:{port}/hooks")
    receiver.secret = ep["secret"]
    answers["hooks.rebind.test"] = "127.0.0.1"  # the receiver's address, allowed as 127.0.0.1 but not by this name
    assert_ok(hooks.post(CREATE, json=order_body()), 201)
    assert deliver(app)["retrying"] == 1
    assert receiver.requests == []
    [d] = assert_ok(hooks.get(deliveries_url(ep["endpointId"])))["items"]
    assert (d["status"], d["lastStatusCode"]) == ("FAILED", None)
    with app.app_context():
        error = db.session.scalar(sa.select(WebhookDelivery.last_error))
    assert error.startswith("not sent") and "127.0.0.1, a loopback address" in error


# --- the OpenAPI document ---------------------------------------------------------------------------------

def test_the_routes_are_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    ops = {
        ("/integration/webhook-endpoints", "post"): "201", ("/integration/webhook-endpoints", "get"): "200",
        ("/integration/webhook-endpoints/{endpointId}", "get"): "200",
        ("/integration/webhook-endpoints/{endpointId}", "patch"): "200",
        ("/integration/webhook-endpoints/{endpointId}", "delete"): "204",
        ("/integration/webhook-endpoints/{endpointId}/deliveries", "get"): "200",
        ("/integration/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/replay", "post"): "202",
        ("/integration/event-types", "get"): "200",
    }
    for (path, method), status in ops.items():
        op = paths[path][method]
        assert op["tags"] == ["webhooks"] and op["description"] == "Scopes: webhooks", (path, method)
        assert status in op["responses"] and {"401", "403", "422"} <= set(op["responses"])
    schemas = doc["components"]["schemas"]
    assert "secret" in schemas["WebhookEndpointCreatedOut"]["properties"]
    assert "secret" not in schemas["WebhookEndpointOut"]["properties"]
    assert schemas["WebhookDeliveryOut"]["properties"]["status"]  # PENDING|SUCCEEDED|FAILED|DEAD
    text = json.dumps(doc)
    assert all(s in text for s in ("PENDING", "SUCCEEDED", "FAILED", "DEAD"))


def test_an_event_outside_the_catalogue_is_refused_by_the_outbox(app):
    with app.app_context(), pytest.raises(ValueError, match="not a valid EventType"):
        with transaction():
            outbox.emit("payment_order.paid", "payment_order", "P1", {})  # type: ignore[arg-type]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 0
