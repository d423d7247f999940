"""Outbox delivery to webhook endpoints (docs/DOMAIN.md §7, docs/SECURITY.md "Callbacks in, webhooks out"),
against a real HTTP receiver on 127.0.0.1: Standard Webhooks signatures checked by an independent
verifier, the retry schedule on a fake clock, redirects, 410, filters, batches, the address policy,
secrets at rest, rolled-back events, and concurrent workers."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from app.domain.errors import StateConflict, ValidationFailed
from app.domain.event_types import EventType
from app.extensions import db
from app.models import AuditEntry, OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.services.platform import crypto, outbox
from app.services.platform.queues import resolve_job_function
from app.services.platform.unit_of_work import transaction
from app.services.webhooks import delivery as webhooks
from app.services.webhooks import endpoints as webhook_endpoints
from tests.support.alerts import alerts_of
from tests.support.database import TEST_ACTOR
from tests.support.webhook_receiver import Reply, verify

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SIGNATURE = re.compile(r"^v1,[A-Za-z0-9+/]{43}=$")  # base64 of a 32-byte HMAC-SHA256


# --- helpers -----------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def receivers_allowed(app, monkeypatch):
    """The receivers of these tests listen on 127.0.0.1: the deployment allows that host
    (WEBHOOK_ALLOWED_HOSTS), as the run command allows its sandbox."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")


def register(client_id, url, event_types="*"):
    return webhook_endpoints.register_endpoint(TEST_ACTOR, client_id, url, event_types)


def emit(*types: str, order: str = "PO-1") -> list[str]:
    with transaction():
        return [outbox.emit(t, "payment_order", order, {"orderId": order, "status": "PAID", "paidAmount": "10.00"})
                for t in types]


def deliveries(endpoint_id: int | None = None) -> list[WebhookDelivery]:
    q = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
    if endpoint_id is not None:
        q = q.where(WebhookDelivery.endpoint_id == endpoint_id)
    rows = db.session.scalars(q).all()
    db.session.commit()  # end the read: other connections may want to write
    return rows


def attempts(delivery_id: int) -> list[WebhookAttempt]:
    rows = db.session.scalars(sa.select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                              .order_by(WebhookAttempt.id)).all()
    db.session.commit()
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- signatures and payload ----------------------------------------------------------------------------

def test_delivery_is_signed_per_standard_webhooks(ctx, client_id, receiver):
    ep, secret = register(client_id, receiver.url("/hook"))
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret) and len(base64.b64decode(secret[6:])) == 32
    [event_id] = emit("payment_order.status_changed")
    assert webhooks.fan_out() == 1
    assert webhooks.deliver_due() == {"claimed": 1, "delivered": 1, "retrying": 0, "dead": 0, "lease_lost": 0}

    [req] = receiver.at("/hook")
    assert req.method == "POST" and req.headers["content-type"] == "application/json"
    assert req.headers["webhook-id"] == event_id
    assert SIGNATURE.match(req.headers["webhook-signature"])
    body = verify(secret, req.headers, req.body)
    assert body["type"] == "payment_order.status_changed"
    assert body["data"] == {"orderId": "PO-1", "status": "PAID", "paidAmount": "10.00"}
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    # A byte changed, another secret, or another id: the verifier refuses.
    with pytest.raises(AssertionError):
        verify(secret, req.headers, req.body.replace(b"PAID", b"PAIX"))
    with pytest.raises(AssertionError):
        verify("whsec_" + base64.b64encode(b"x" * 32).decode(), req.headers, req.body)
    with pytest.raises(AssertionError):
        verify(secret, {**req.headers, "webhook-id": "evt_other"}, req.body)

    [d] = deliveries()
    assert (d.status, d.attempts, d.last_status_code) == ("DELIVERED", 1, 200) and d.delivered_at
    [a] = attempts(d.id)
    assert (a.attempt_no, a.status_code, a.error, a.response_excerpt) == (1, 200, None, "ok")
    assert a.duration_ms >= 0
    assert db.session.scalar(sa.select(OutboxEvent.status)) == "DISPATCHED"
    db.session.commit()


def test_secret_is_stored_encrypted_and_rotation_signs_with_both(ctx, client_id, receiver):
    ep, old = register(client_id, receiver.url("/hook"))
    raw = db.session.execute(sa.text("SELECT secret_enc FROM webhook_endpoints WHERE id = :i"), {"i": ep.id}).scalar()
    db.session.commit()
    assert old not in raw and old[6:] not in raw and crypto.decrypt(raw) == old

    new = webhook_endpoints.rotate_secret(TEST_ACTOR, ep.id, grace=timedelta(hours=1), now=T0)
    assert new != old
    emit("payment_order.updated")
    webhooks.fan_out(now=T0)
    webhooks.deliver_due(now=T0)
    [req] = receiver.at("/hook")
    sigs = req.headers["webhook-signature"].split(" ")
    assert len(sigs) == 2 and all(SIGNATURE.match(s) for s in sigs)
    verify(new, req.headers, req.body)
    verify(old, req.headers, req.body)  # a receiver that has not switched yet still accepts

    emit("payment_order.updated", order="PO-2")
    later = T0 + timedelta(hours=2)  # the grace is over: only the new secret signs
    webhooks.fan_out(now=later)
    webhooks.deliver_due(now=later)
    req = receiver.at("/hook")[1]
    assert " " not in req.headers["webhook-signature"]
    verify(new, req.headers, req.body)
    with pytest.raises(AssertionError):
        verify(old, req.headers, req.body)


# --- retries, schedule, replay -------------------------------------------------------------------------

def test_failures_follow_the_schedule_to_dead_with_one_webhook_id_then_replay(ctx, client_id, receiver):
    receiver.reply("/hook", always=Reply(500, b"boom"))
    ep, secret = register(client_id, receiver.url("/hook"))
    [event_id] = emit("transaction.succeeded")
    webhooks.fan_out(now=T0)
    t, times = T0, []
    for n in range(1, webhooks.MAX_ATTEMPTS + 1):
        if n > 1:
            assert webhooks.deliver_due(now=t - timedelta(seconds=1))["claimed"] == 0, "sent before it was due"
        counts = webhooks.deliver_due(now=t)
        times.append(t)
        [d] = deliveries()
        assert d.attempts == n and d.last_status_code == 500 and d.last_error == "HTTP 500"
        if n < webhooks.MAX_ATTEMPTS:
            assert counts["retrying"] == 1 and d.status == "PENDING"
            planned = webhooks.SCHEDULE[n] - webhooks.SCHEDULE[n - 1]
            assert planned * 0.9 <= d.next_attempt_at - t <= planned * 1.1
            t = d.next_attempt_at
        else:
            assert counts["dead"] == 1 and d.status == "DEAD" and d.next_attempt_at is None
    assert webhooks.MAX_ATTEMPTS >= 8
    assert timedelta(hours=21.6) <= t - T0 <= timedelta(hours=26.4)  # about a day

    sent = receiver.at("/hook")
    assert len(sent) == webhooks.MAX_ATTEMPTS
    assert {r.headers["webhook-id"] for r in sent} == {event_id}
    for r in sent:
        verify(secret, r.headers, r.body)
    log = attempts(d.id)
    assert [a.attempt_no for a in log] == list(range(1, webhooks.MAX_ATTEMPTS + 1))
    assert [a.requested_at for a in log] == times
    assert all(a.status_code == 500 and a.response_excerpt == "boom" for a in log)
    assert webhooks.deliver_due(now=t + timedelta(days=30))["claimed"] == 0  # dead stays dead

    # Replay: the same webhook-id, attempts from 1 again, audited; the log keeps the old attempts.
    receiver.reply("/hook", always=Reply(204, b""))
    webhooks.replay(TEST_ACTOR, d.id, now=t)
    [d] = deliveries()
    assert (d.status, d.attempts) == ("PENDING", 0)
    with pytest.raises(StateConflict):
        webhooks.replay(TEST_ACTOR, d.id)
    assert webhooks.deliver_due(now=t)["delivered"] == 1
    assert receiver.at("/hook")[-1].headers["webhook-id"] == event_id
    verify(secret, receiver.at("/hook")[-1].headers, receiver.at("/hook")[-1].body)
    assert len(attempts(d.id)) == webhooks.MAX_ATTEMPTS + 1
    # A delivered event can be replayed too (a receiver that lost it), still with the same id.
    webhooks.replay(TEST_ACTOR, d.id, now=t)
    webhooks.deliver_due(now=t)
    assert receiver.ids() == Counter({event_id: webhooks.MAX_ATTEMPTS + 2})
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_type == "webhook_delivery"))
    assert list(actions) == ["webhook_delivery.replay", "webhook_delivery.replay"]
    db.session.commit()


def test_redirect_is_a_failure_and_never_followed(ctx, client_id, receiver):
    receiver.reply("/moved", always=Reply(302, b"", {"Location": receiver.url("/elsewhere")}))
    ep, _ = register(client_id, receiver.url("/moved"))
    emit("refund.succeeded")
    webhooks.fan_out(now=T0)
    assert webhooks.deliver_due(now=T0)["retrying"] == 1
    assert len(receiver.at("/moved")) == 1 and receiver.at("/elsewhere") == []
    [d] = deliveries()
    assert (d.status, d.attempts, d.last_status_code) == ("PENDING", 1, 302)
    assert d.last_error.startswith("redirect not followed") and "/elsewhere" in d.last_error
    assert d.next_attempt_at > T0


def test_410_disables_the_endpoint_and_kills_the_delivery(ctx, client_id, receiver):
    receiver.reply("/gone", always=Reply(410, b"gone"))
    gone, _ = register(client_id, receiver.url("/gone"))
    attempts = REGISTRY.get_sample_value("portal_webhook_attempts_total", {"outcome": "gone"}) or 0.0
    emit("alert.raised")
    webhooks.fan_out(now=T0)
    assert webhooks.deliver_due(now=T0)["dead"] == 1
    [d] = deliveries()
    assert (d.status, d.last_status_code) == ("DEAD", 410)
    assert db.session.get(WebhookEndpoint, gone.id).enabled is False
    assert alerts_of("webhook_endpoint_dead") == [(str(gone.id), "OPEN", 1)]
    assert REGISTRY.get_sample_value("portal_webhook_attempts_total", {"outcome": "gone"}) == attempts + 1
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.target_id == str(gone.id))
                             .order_by(AuditEntry.id.desc()).limit(1)) == "webhook_endpoint.disable"
    db.session.commit()
    emit("alert.raised", order="PO-2")  # a disabled endpoint gets no new deliveries
    webhooks.fan_out(now=T0)
    assert len(deliveries()) == 1
    assert webhooks.webhook_stats() == {"PENDING": 0, "DELIVERED": 0, "DEAD": 1, "PAUSED": 0, "OUTBOX_PENDING": 0}

    # The receiver is back: the admin enables the endpoint and replays its dead deliveries.
    receiver.reply("/gone", always=Reply(200))
    webhook_endpoints.update_endpoint(TEST_ACTOR, gone.id, enabled=True)
    assert webhooks.replay_dead(TEST_ACTOR, endpoint_id=gone.id, now=T0) == 1
    assert webhooks.deliver_due(now=T0)["delivered"] == 1
    assert webhooks.webhook_stats()["DELIVERED"] == 1


def test_slow_and_unreachable_receivers_are_retried(app, ctx, client_id, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.5)
    receiver.reply("/slow", Reply(200, delay=1.5))
    slow, _ = register(client_id, receiver.url("/slow"))
    closed, _ = register(client_id, f"http://127.0.0.1:{free_port()}/hook")
    emit("payment_order.created")
    webhooks.fan_out(now=T0)
    assert webhooks.deliver_due(now=T0)["retrying"] == 2
    by_endpoint = {d.endpoint_id: d for d in deliveries()}
    assert "Timeout" in by_endpoint[slow.id].last_error and by_endpoint[slow.id].last_status_code is None
    assert by_endpoint[closed.id].last_error.startswith("connect error")
    assert attempts(by_endpoint[slow.id].id)[0].duration_ms >= 400


# --- fan-out -------------------------------------------------------------------------------------------

def test_fan_out_follows_each_endpoints_event_types_once(ctx, client_id, receiver):
    orders, _ = register(client_id, receiver.url("/orders"), "payment_order.*")
    money, _ = register(client_id, receiver.url("/money"), ["transaction.succeeded", " alert.raised "])
    off, _ = register(client_id, receiver.url("/off"), "*")
    webhook_endpoints.update_endpoint(TEST_ACTOR, off.id, enabled=False)
    assert money.event_types == "transaction.succeeded,alert.raised"
    emit("payment_order.created", "transaction.succeeded", "transaction.failed", "alert.raised",
         "payment_order.status_changed", "refund.failed")
    # A prefix filter matches at the dot: a type that only starts with the same letters is not in it.
    # (Not in the catalogue, so outbox.emit refuses it: the row is written as it stands.)
    with transaction():
        row = outbox.event_row(EventType.PAYMENT_ORDER_CREATED, "payment_order", "PO-1", {})
        outbox.insert_row({**row, "event_type": "payment_orderx.created"})
    assert webhooks.fan_out(now=T0) == 7
    assert len(deliveries(orders.id)) == 2 and len(deliveries(money.id)) == 2 and deliveries(off.id) == []
    assert set(db.session.scalars(sa.select(OutboxEvent.status))) == {"DISPATCHED"}
    # Idempotent: events taken again (a crash between insert and commit never happens, but a
    # replayed outbox row might) make no second delivery.
    db.session.execute(sa.update(OutboxEvent).values(status="PENDING"))
    db.session.commit()
    assert webhooks.fan_out(now=T0) == 7
    assert len(deliveries()) == 4

    webhooks.deliver_due(now=T0)
    assert sorted(json.loads(r.body)["type"] for r in receiver.at("/orders")) == [
        "payment_order.created", "payment_order.status_changed"]
    assert sorted(json.loads(r.body)["type"] for r in receiver.at("/money")) == [
        "alert.raised", "transaction.succeeded"]


@pytest.mark.parametrize("bad", ["", " , ", "Payment Order", "payment_order.**", "*.created"])
def test_event_type_filters_are_validated(ctx, client_id, bad):
    with pytest.raises(ValidationFailed):
        register(client_id, "http://127.0.0.1:9/", bad)


def test_a_thousand_events_go_out_in_batches_with_a_constant_number_of_statements(ctx, client_id, receiver):
    register(client_id, receiver.url("/bulk"))

    def statements_for(n_events: int) -> int:
        with transaction():
            for i in range(n_events):
                outbox.emit("payment_order.updated", "payment_order", f"PO-{i}", {"orderId": f"PO-{i}"})
        seen = []
        listen = lambda *args: seen.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            assert webhooks.fan_out(batch=500) == n_events
            assert webhooks.deliver_due(batch=1000)["delivered"] == n_events
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
        return len(seen)

    small = statements_for(10)
    big = statements_for(1000)
    assert big <= small + 8 and big < 40, (small, big)  # 2 more fan-out batches, not 1,000 of anything
    ids = receiver.ids()
    assert len(ids) == 1010 and set(ids.values()) == {1}
    assert webhooks.webhook_stats()["DELIVERED"] == 1010


# --- the address policy ----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://localhost:8080/hook", "http://10.1.2.3/", "http://172.16.0.1/",
    "http://192.168.1.10/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[fe80::1]/",
    "http://[fc00::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://224.0.0.1/", "http://100.64.0.1/",
    "http://240.0.0.1/", "ftp://93.184.215.14/", "file:///etc/passwd", "http://user:pw@93.184.215.14/", "hook",
])
def test_private_and_odd_urls_are_refused_at_registration(app, ctx, client_id, url, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "")
    with pytest.raises(ValidationFailed) as err:
        register(client_id, url)
    assert err.value.errors[0]["field"] == "url"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0
    db.session.commit()


def test_allowed_hosts_admit_their_own_private_addresses_only_and_never_metadata(app, ctx, client_id, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS",
                        " LocalHost, 127.0.0.1,[::1],169.254.169.254,[fd00:ec2::254],::ffff:169.254.169.254")
    for url in ("http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "http://[::1]:8080/hook"):
        register(client_id, url)
    for url in ("http://127.0.0.2/", "http://10.0.0.1/", "http://[::ffff:127.0.0.1]/"):  # not listed
        with pytest.raises(ValidationFailed, match="WEBHOOK_ALLOWED_HOSTS"):
            register(client_id, url)
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://[::ffff:169.254.169.254]/"):
        with pytest.raises(ValidationFailed, match="metadata"):
            register(client_id, url)
    register(client_id, "https://93.184.215.14/hook")  # public: no allow-list needed


def test_addresses_are_checked_again_at_send_time(ctx, client_id, receiver):
    # Registered as public; the row (or the name's DNS answer) later points inside: a name that
    # resolves to loopback (localhost, not in the allow-list, which has 127.0.0.1 only).
    inside, _ = register(client_id, "http://93.184.215.14/hook")
    metadata, _ = register(client_id, receiver.url("/hook"))
    db.session.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id == inside.id)
                       .values(url=receiver.url("/hook").replace("127.0.0.1", "localhost")))
    db.session.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id == metadata.id)
                       .values(url="http://169.254.169.254/latest/meta-data/iam/"))
    db.session.commit()
    emit("payment_order.created")
    webhooks.fan_out(now=T0)
    assert webhooks.deliver_due(now=T0)["retrying"] == 2
    assert receiver.received == []
    by_endpoint = {d.endpoint_id: d for d in deliveries()}
    assert "loopback" in by_endpoint[inside.id].last_error and by_endpoint[inside.id].last_error.startswith("not sent")
    assert "metadata" in by_endpoint[metadata.id].last_error
    for d in by_endpoint.values():
        [a] = attempts(d.id)
        assert a.status_code is None and a.error == d.last_error and d.status == "PENDING"


# --- consistency -----------------------------------------------------------------------------------------

def test_an_event_of_a_rolled_back_transaction_is_never_delivered(ctx, client_id, receiver):
    register(client_id, receiver.url("/hook"))
    with pytest.raises(RuntimeError):
        with transaction():
            outbox.emit("payment_order.created", "payment_order", "PO-X", {"orderId": "PO-X"})
            raise RuntimeError("the change failed")
    outbox.emit("payment_order.created", "payment_order", "PO-Y", {"orderId": "PO-Y"})
    db.session.rollback()
    assert webhooks.fan_out() == 0
    assert webhooks.deliver_due()["claimed"] == 0
    assert receiver.received == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 0
    db.session.commit()


def test_a_worker_that_dies_mid_http_loses_nothing_and_its_late_result_is_ignored(ctx, client_id, receiver):
    receiver.reply("/hook", Reply(500, b"late"), always=Reply(200))
    _, secret = register(client_id, receiver.url("/hook"))
    [event_id] = emit("transaction.failed")
    webhooks.fan_out(now=T0)
    timeout, workers = webhooks._settings()
    a = webhooks._claim(10, T0, timeout, workers)  # worker A claims, then hangs (or dies) before sending
    assert len(a) == 1
    assert webhooks.deliver_due(now=T0 + timedelta(seconds=30))["claimed"] == 0  # A's lease holds
    t1 = T0 + timedelta(hours=1)
    b = webhooks._claim(10, t1, timeout, workers)  # the lease is over: worker B takes the delivery
    assert [t.attempt_no for t in b] == [2] and b[0].msg_id == a[0].msg_id == event_id

    counts = dict.fromkeys(("delivered", "retrying", "dead", "lease_lost"), 0)
    loopback = frozenset({"127.0.0.1"})
    with webhooks.sends() as via:
        # A wakes up: its 500 comes late
        webhooks._record(webhooks.webhook_sender.send_all(a, via, loopback), t1, counts)
        assert counts["lease_lost"] == 1 and counts["retrying"] == 0
        assert webhooks.deliver_due(now=t1 + timedelta(seconds=30))["claimed"] == 0  # B's lease is untouched
        webhooks._record(webhooks.webhook_sender.send_all(b, via, loopback), t1, counts)
    assert counts["delivered"] == 1
    [d] = deliveries()
    assert (d.status, d.attempts, d.last_status_code) == ("DELIVERED", 2, 200)
    assert [a.status_code for a in attempts(d.id)] == [500, 200]  # the log keeps both
    assert receiver.ids() == Counter({event_id: 2})  # at least once, one webhook-id to dedupe on
    for r in receiver.received:
        verify(secret, r.headers, r.body)


def test_concurrent_workers_deliver_each_delivery_once(app, ctx, client_id, receiver):
    register(client_id, receiver.url("/a"))
    register(client_id, receiver.url("/b"), "payment_order.*")
    with transaction():
        for i in range(150):
            outbox.emit("payment_order.updated", "payment_order", f"PO-{i}", {"orderId": f"PO-{i}"})
    barrier = threading.Barrier(2)

    def worker(kind: str) -> list[dict]:
        with app.app_context():
            try:
                barrier.wait()
                if kind == "fan_out":
                    return [{"events": webhooks.fan_out(batch=20)}]
                results = []
                while (counts := webhooks.deliver_due(batch=25))["claimed"]:
                    results.append(counts)
                return results
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        fanned = list(pool.map(worker, ["fan_out", "fan_out"]))
        assert sum(r[0]["events"] for r in fanned) == 150  # each event taken by exactly one of them
        assert len(deliveries()) == 300
        threads_out = list(pool.map(worker, ["deliver", "deliver"]))
    assert sum(c["delivered"] for r in threads_out for c in r) == 300
    assert sum(c["lease_lost"] for r in threads_out for c in r) == 0
    assert len(receiver.at("/a")) == 150 and len(receiver.at("/b")) == 150
    for path in ("/a", "/b"):
        per_id = Counter(r.headers["webhook-id"] for r in receiver.at(path))
        assert len(per_id) == 150 and set(per_id.values()) == {1}
    assert {d.status for d in deliveries()} == {"DELIVERED"}


# --- the job ---------------------------------------------------------------------------------------------

def test_dispatch_outbox_job_fans_out_and_delivers(ctx, client_id, receiver):
    from app.jobs.webhooks import dispatch_outbox

    assert resolve_job_function("app.jobs.webhooks.dispatch_outbox") is dispatch_outbox
    register(client_id, receiver.url("/hook"))
    emit("payment_order.created", "payment_order.updated")
    result = dispatch_outbox()
    assert result["events"] == 2 and result["delivered"] == 2
    json.dumps(result)  # an RQ result under the JSON serializer
    assert len(receiver.at("/hook")) == 2
