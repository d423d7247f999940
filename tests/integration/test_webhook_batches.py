"""A batch of webhook deliveries as one unit (docs/DOMAIN.md §7, bench/README.md ``webhooks.py``):
each outcome of a mixed batch recorded on its own delivery and in the attempt log (on PostgreSQL
in one statement), sends over keep-alive connections kept for a whole dispatch job, a connection
the receiver hung up on while idle, and HTTPS to a checked address with SNI and certificate
verification for the URL's name — against real receivers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.extensions import db
from app.models import AuditEntry, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.services.platform import outbox
from app.services.platform.unit_of_work import transaction
from app.services.webhooks import connections
from app.services.webhooks import delivery as webhooks
from app.services.webhooks import endpoints as webhook_endpoints
from tests.support.alerts import alerts_of
from tests.support.database import TEST_ACTOR
from tests.support.webhook_receiver import Reply, started, stop, verify

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def receivers_allowed(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1,localhost")


def register(client_id, url, event_types="*"):
    return webhook_endpoints.register_endpoint(TEST_ACTOR, client_id, url, event_types)


def emit(n: int, event_type: str = "payment_order.updated") -> list[str]:
    with transaction():
        return [outbox.emit(event_type, "payment_order", f"PO-{i}", {"orderId": f"PO-{i}"}) for i in range(n)]


def rows(model, *where):
    found = db.session.scalars(sa.select(model).where(*where).order_by(model.id)).all()
    db.session.commit()
    return found


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- one batch, every kind of outcome --------------------------------------------------------------------

def test_a_batch_where_some_deliveries_fail_records_each_outcome_on_its_own(ctx, client_id, receiver):
    receiver.reply("/flaky", Reply(500, b"down"))  # the first POST to /flaky fails, the others pass
    ok, _ = register(client_id, receiver.url("/ok"))
    flaky, _ = register(client_id, receiver.url("/flaky"))
    failing, _ = register(client_id, receiver.url("/fail"))
    receiver.reply("/fail", always=Reply(503, b"busy"))
    gone, _ = register(client_id, receiver.url("/gone"))
    receiver.reply("/gone", always=Reply(410, b"gone"))
    refused, _ = register(client_id, f"http://127.0.0.1:{closed_port()}/hook")
    emit(3)
    assert webhooks.fan_out(now=T0) == 3

    counts = webhooks.deliver_due(batch=100, now=T0)  # all 15 in one batch
    assert counts == {"claimed": 15, "delivered": 3 + 2, "retrying": 1 + 3 + 3, "dead": 3, "lease_lost": 0}

    by_endpoint = {}
    for d in rows(WebhookDelivery):
        by_endpoint.setdefault(d.endpoint_id, []).append(d)
    for d in by_endpoint[ok.id]:
        assert (d.status, d.attempts, d.last_status_code, d.last_error, d.next_attempt_at, d.delivered_at) == (
            "DELIVERED", 1, 200, None, None, T0)
    assert sorted(d.status for d in by_endpoint[flaky.id]) == ["DELIVERED", "DELIVERED", "PENDING"]
    [retry] = [d for d in by_endpoint[flaky.id] if d.status == "PENDING"]
    assert (retry.last_status_code, retry.last_error, retry.delivered_at) == (500, "HTTP 500", None)
    assert timedelta(seconds=4.5) <= retry.next_attempt_at - T0 <= timedelta(seconds=5.5)  # 5 s ± 10 %
    for d in by_endpoint[failing.id]:
        assert (d.status, d.attempts, d.last_status_code, d.last_error) == ("PENDING", 1, 503, "HTTP 503")
        assert timedelta(seconds=4.5) <= d.next_attempt_at - T0 <= timedelta(seconds=5.5)
    for d in by_endpoint[gone.id]:
        assert (d.status, d.last_status_code, d.last_error, d.next_attempt_at) == ("DEAD", 410, "HTTP 410", None)
    for d in by_endpoint[refused.id]:
        assert d.status == "PENDING" and d.last_status_code is None and d.last_error.startswith("connect error")

    # The attempt log: one row per POST (or refusal), with what came back, at the batch's clock.
    log = {a.delivery_id: a for a in rows(WebhookAttempt)}
    assert len(log) == 15
    for d in rows(WebhookDelivery):
        a = log[d.id]
        assert (a.attempt_no, a.status_code, a.error, a.requested_at) == (1, d.last_status_code, d.last_error, T0)
    assert {log[d.id].response_excerpt for d in by_endpoint[failing.id]} == {"busy"}
    assert {log[d.id].response_excerpt for d in by_endpoint[ok.id]} == {"ok"}

    # 410: the endpoint is disabled (audited) and alerted on; the others are untouched.
    assert [e.enabled for e in rows(WebhookEndpoint, WebhookEndpoint.id.in_([ok.id, gone.id]))] == [True, False]
    assert len(rows(AuditEntry, AuditEntry.action == "webhook_endpoint.disable")) == 1
    assert [a[:2] for a in alerts_of("webhook_endpoint_dead")] == [(str(gone.id), "OPEN")]
    # The retries go out on their schedule, and only they.
    assert webhooks.deliver_due(now=T0 + timedelta(seconds=1))["claimed"] == 0
    later = webhooks.deliver_due(now=T0 + timedelta(seconds=6))
    assert later["claimed"] == 7 and later["delivered"] == 1  # the flaky one now passes


def test_a_late_result_of_a_lost_lease_is_logged_but_changes_nothing_beside_held_ones(ctx, client_id, receiver):
    register(client_id, receiver.url("/hook"))
    emit(4)
    webhooks.fan_out(now=T0)
    timeout, workers = webhooks._settings()
    first = webhooks._claim(2, T0, timeout, workers)  # worker A takes two, then stalls past its lease
    t1 = T0 + timedelta(hours=1)
    second = webhooks._claim(10, t1, timeout, workers)  # worker B takes all four
    assert len(first) == 2 and len(second) == 4
    counts = dict.fromkeys(("delivered", "retrying", "dead", "lease_lost"), 0)
    with webhooks.sends() as via:
        # A's two results and B's four in one batch of results: A's are lost leases, B's apply.
        webhooks._record(webhooks.webhook_sender.send_all(first + second, via, frozenset({"127.0.0.1"})), t1, counts)
    assert counts == {"delivered": 4, "retrying": 0, "dead": 0, "lease_lost": 2}
    taken_over = {t.delivery_id for t in first}
    assert {d.id: (d.status, d.attempts) for d in rows(WebhookDelivery)} == {
        t.delivery_id: ("DELIVERED", 2 if t.delivery_id in taken_over else 1) for t in second}
    assert sorted((a.delivery_id in taken_over, a.attempt_no) for a in rows(WebhookAttempt)) == [
        (False, 1), (False, 1), (True, 1), (True, 1), (True, 2), (True, 2)]  # A's late POSTs are logged too


# --- keep-alive connections ---------------------------------------------------------------------------

def test_a_dispatch_job_sends_every_batch_over_the_same_few_keep_alive_connections(app, ctx, client_id, receiver,
                                                                                  monkeypatch):
    from app.jobs import webhooks as job

    monkeypatch.setitem(app.config, "WEBHOOK_CONCURRENCY", 3)
    monkeypatch.setattr(job, "DELIVER_BATCH", 10)
    _, secret = register(client_id, receiver.url("/hook"))
    emit(45)
    result = job.dispatch_outbox()
    assert result["delivered"] == 45 and result["claimed"] == 45
    got = receiver.at("/hook")
    assert len(got) == 45 and len({r.headers["webhook-id"] for r in got}) == 45
    assert len({r.peer for r in got}) <= 3  # five batches, at most WEBHOOK_CONCURRENCY connections
    for r in got:
        verify(secret, r.headers, r.body)
        assert r.headers["host"] == receiver.url("").removeprefix("http://")


def test_a_connection_the_receiver_hung_up_on_is_not_used_again(ctx, client_id, receiver):
    receiver.reply("/hook", always=Reply(200, hang_up=True))  # closes each connection after answering
    register(client_id, receiver.url("/hook"))
    emit(6)
    webhooks.fan_out(now=T0)
    with webhooks.Sends(timeout=5, workers=1) as via:
        assert webhooks.deliver_due(batch=3, now=T0, via=via)["delivered"] == 3
        assert webhooks.deliver_due(batch=3, now=T0, via=via)["delivered"] == 3
        assert via.connections.opened == 6  # each idle connection was seen closed and replaced
    assert len({r.peer for r in receiver.at("/hook")}) == 6


def test_a_longer_answer_than_the_excerpt_closes_its_connection(ctx, client_id, receiver):
    receiver.reply("/hook", always=Reply(200, b"x" * 5000))
    register(client_id, receiver.url("/hook"))
    emit(2)
    webhooks.fan_out(now=T0)
    with webhooks.Sends(timeout=5, workers=1) as via:
        assert webhooks.deliver_due(now=T0, via=via)["delivered"] == 2
        assert via.connections.opened == 2  # the unread rest of the body cannot precede the next answer
    assert {a.response_excerpt for a in rows(WebhookAttempt)} == {"x" * 500}


# --- HTTPS --------------------------------------------------------------------------------------------

def _certificates(tmp_path, name: str) -> tuple[bytes, str, str]:
    """A CA (PEM) and a server certificate and key for ``name`` signed by it (file paths)."""
    def key():
        return ec.generate_private_key(ec.SECP256R1())

    now = datetime.now(UTC)
    ca_key, leaf_key = key(), key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM), str(cert_file), str(key_file)


@pytest.fixture
def https_receiver(tmp_path):
    """An HTTPS receiver on 127.0.0.1 with a certificate for ``localhost``; records the SNI names."""
    ca_pem, cert, key = _certificates(tmp_path, "localhost")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, context: names.append(name)
    r = started(tls=server_tls)
    r.sni_names = names
    r.ca_pem = ca_pem
    yield r
    stop(r)


def test_https_goes_to_the_checked_address_with_sni_and_the_certificate_checked_for_the_name(
        ctx, client_id, https_receiver, monkeypatch):
    url = f"https://localhost:{https_receiver.server.server_port}/hook"
    assert ipaddress.ip_address(webhooks.webhook_sender.route(url, frozenset({"localhost"})).addresses[0]).is_loopback
    ep, secret = register(client_id, url)
    emit(3)
    webhooks.fan_out(now=T0)

    # Not trusted (the real CA bundle): refused at the handshake, retried later.
    counts = webhooks.deliver_due(now=T0)
    assert counts["retrying"] == 3 and https_receiver.at("/hook") == []
    assert all("CERTIFICATE_VERIFY_FAILED" in d.last_error for d in rows(WebhookDelivery))

    trusting = ssl.create_default_context(cadata=https_receiver.ca_pem.decode())
    monkeypatch.setattr(connections, "tls_context", lambda: trusting)
    assert webhooks.deliver_due(now=T0 + timedelta(minutes=1))["delivered"] == 3
    got = https_receiver.at("/hook")
    assert len(got) == 3
    for r in got:
        verify(secret, r.headers, r.body)
        assert r.headers["host"] == f"localhost:{https_receiver.server.server_port}"
    assert set(https_receiver.sni_names) == {"localhost"}
    assert len({r.peer for r in got}) <= 3

    # A certificate for another name is refused even from a trusted CA.
    register(client_id, f"https://127.0.0.1:{https_receiver.server.server_port}/other")
    emit(1)
    webhooks.fan_out(now=T0 + timedelta(minutes=2))
    assert webhooks.deliver_due(now=T0 + timedelta(minutes=2))["retrying"] == 1
    [d] = [d for d in rows(WebhookDelivery) if d.endpoint_id != ep.id]
    assert d.last_error.startswith("connect error") and "127.0.0.1" in d.last_error
