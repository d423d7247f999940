"""/admin/clients (docs/SCREENS.md): API clients and their keys, webhook endpoints and their secrets,
the delivery log and replay, through the real sign-in, CSRF, the real API and a real HTTP receiver on
127.0.0.1 — admins only (the matrix of tests/support/routes.py covers every route for every role)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.domain.timeutil import SHANGHAI
from app.extensions import db
from app.models import ApiClient, AuditEntry, WebhookDelivery, WebhookEndpoint
from app.services.webhooks import delivery as webhooks
from tests.support import screen_setup, webhook_world
from tests.support.routes import ADMIN
from tests.support.web import csrf_token, done
from tests.support.webhook_receiver import Reply, verify

SHOWN = re.compile(r'data-testid="shown-once-value">([^<]+)<')
ROW = re.compile(r'<tr data-testid="delivery-row" data-delivery-id="(\d+)" data-status="(\w+)">')


@pytest.fixture
def admin(signed_in, shop, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    return signed_in(ADMIN)


def post(client, path, data, page="/admin/clients", **kw):
    return done(client.post(path, data={**data, "csrf_token": csrf_token(client, page)}, **kw))


def get(client, path) -> str:
    return done(client.get(path)).get_data(as_text=True)


def in_app(fn, *args, **kwargs):
    """Run ``fn`` in its own app context (a request of the test client must not share its session)."""
    return screen_setup.in_app(fn)(*args, **kwargs)


@screen_setup.in_app
def audits(action: str) -> list[SimpleNamespace]:
    """The audit entries of ``action``, oldest first: their before and after."""
    rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()
    return [SimpleNamespace(before=r.before, after=r.after) for r in rows]


def create_client(admin, name="erp", scopes=("payments", "webhooks")) -> tuple[int, str]:
    response = post(admin, "/admin/clients", {"name": name, "scopes": list(scopes)})
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    [key] = SHOWN.findall(response.get_data(as_text=True))
    assert response.headers["Cache-Control"] == "no-store"  # no copy of the key in a cache
    return in_app(db.session.scalar, sa.select(ApiClient.id).where(ApiClient.name == name)), key


def create_endpoint(admin, client_id, url, types=("*",)) -> tuple[int, str]:
    response = post(admin, f"/admin/clients/{client_id}/endpoints", {"url": url, "event_types": list(types)})
    assert response.status_code == 201, response.get_data(as_text=True)[:3000]
    [secret] = SHOWN.findall(response.get_data(as_text=True))
    ids = sa.select(WebhookEndpoint.id).where(WebhookEndpoint.client_id == client_id)
    return in_app(db.session.scalar, ids), secret


def test_key_is_shown_once_works_on_the_api_and_fails_once_revoked(app, admin):
    client_id, key = create_client(admin)
    assert key.startswith("rpp_") and len(key) > 40
    page = get(admin, "/admin/clients")
    assert key not in page and 'data-testid="client-row"' in page and key[:8] in page  # the prefix only
    [entry] = audits("api_client.create")
    assert key not in json.dumps([entry.before, entry.after], default=str)

    api = app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}
    assert done(api.get("/api/v1/integration/event-types", headers=bearer)).status_code == 200

    response = post(admin, f"/admin/clients/{client_id}/revoke", {})
    assert response.status_code == 200 and 'data-active="false"' in response.get_data(as_text=True)
    answer = done(api.get("/api/v1/integration/event-types", headers=bearer))
    assert answer.status_code == 401, answer.get_data(as_text=True)
    [entry] = audits("api_client.revoke")
    assert entry.before["active"] is True and entry.after["active"] is False
    assert key not in json.dumps([entry.before, entry.after], default=str)
    assert post(admin, f"/admin/clients/{client_id}/revoke", {}).status_code == 409  # nothing changed
    refused = post(admin, f"/admin/clients/{client_id}/endpoints", {"url": "http://127.0.0.1:9/x", "event_types": "*"})
    assert refused.status_code == 409 and audits("webhook_endpoint.create") == []


def test_client_form_errors_are_next_to_their_fields_in_chinese(admin):
    get(admin, "/admin/clients?lang=zh")
    response = post(admin, "/admin/clients", {"name": "", "scopes": ["nonsense"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="client-name-error"' in body and "请输入" in body
    assert in_app(db.session.scalar, sa.select(sa.func.count()).select_from(ApiClient)) == 0


@pytest.mark.parametrize("url, words", [
    ("http://10.0.0.1/hooks", "10.0.0.1"),  # private
    ("http://169.254.169.254/latest", "169.254.169.254"),  # metadata, even though 127.0.0.1 is allowed
    ("http://localhost.:8080/x", None),
    ("ftp://example.com/x", None),
    ("not a url", None),
    ("http://user:pw@example.com/x", None),
])
def test_refused_urls_are_shown_next_to_the_field_and_nothing_is_stored(admin, url, words):
    client_id, _ = create_client(admin)
    response = post(admin, f"/admin/clients/{client_id}/endpoints", {"url": url, "event_types": ["*"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(r'data-testid="endpoint-url-error" role="alert">([^<]+)<', body)
    assert error, body[:3000]
    if words:
        assert words in error.group(1)
    assert in_app(db.session.scalar, sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0
    assert audits("webhook_endpoint.create") == []


def test_a_private_address_is_refused_in_chinese(admin):
    client_id, _ = create_client(admin)
    get(admin, "/admin/clients?lang=zh")
    body = post(admin, f"/admin/clients/{client_id}/endpoints",
                {"url": "http://192.168.1.5/hooks", "event_types": ["*"]}).get_data(as_text=True)
    error = re.search(r'data-testid="endpoint-url-error" role="alert">([^<]+)<', body).group(1)
    assert "192.168.1.5" in error and "地址" in error


def test_a_real_payment_is_delivered_signed_and_logged_then_replayed(admin, receiver):
    client_id, _ = create_client(admin)
    endpoint_id, secret = create_endpoint(admin, client_id, receiver.url("/erp"), ["merged_payment.completed"])
    assert secret.startswith("whsec_") and secret not in get(admin, "/admin/clients")
    receiver.reply("/erp", Reply(status=503, body=b"maintenance until 10:00"), always=Reply(status=200, body=b"ok"))

    screen_setup.pay([(screen_setup.make_order("R1001", "300.00"), "300.00")], "WALLET")
    in_app(webhooks.fan_out)
    in_app(webhooks.deliver_due)
    [first] = receiver.at("/erp")  # the one event the endpoint subscribes to
    payload = verify(secret, first.headers, first.body)  # signed with the secret shown once
    assert payload["type"] == "merged_payment.completed"

    log = get(admin, f"/admin/endpoints/{endpoint_id}/deliveries")
    rows = ROW.findall(log)
    assert rows and {status for _, status in rows} == {"FAILED"}
    assert 'data-status-code="503"' in log and "maintenance until 10:00" in log and " ms<" in log

    delivery_id = int(rows[-1][0])
    response = post(admin, f"/admin/endpoints/{endpoint_id}/deliveries/{delivery_id}/replay", {},
                    headers={"HX-Request": "true"})
    assert response.status_code == 200 and '<div id="deliveries">' in response.get_data(as_text=True)
    assert "<html" not in response.get_data(as_text=True)  # the fragment only
    in_app(webhooks.deliver_due)
    again = [r for r in receiver.at("/erp") if r.headers["webhook-id"] == first.headers["webhook-id"]]
    assert len(again) >= 2  # the same webhook-id, sent again
    log = get(admin, f"/admin/endpoints/{endpoint_id}/deliveries")
    assert (str(delivery_id), "SUCCEEDED") in ROW.findall(log) and 'data-status-code="200"' in log
    [entry] = audits("webhook_delivery.replay")
    assert entry.before["status"] == "PENDING" and entry.after["attempts"] == 0


def test_replay_every_failed_delivery_of_an_endpoint_in_a_time_range(admin, receiver):
    client_id, _ = create_client(admin)
    endpoint_id, _ = create_endpoint(admin, client_id, receiver.url("/down"))
    receiver.reply("/down", always=Reply(status=500, body=b"down"))
    for order in ("PO-1", "PO-2", "PO-3"):
        in_app(webhook_world.emit_event, order)
    in_app(webhooks.deliver_due)
    assert [a for _, _, a in in_app(webhook_world.deliveries_of, endpoint_id)] == [1, 1, 1]
    page = f"/admin/endpoints/{endpoint_id}/deliveries"

    response = post(admin, f"/admin/endpoints/{endpoint_id}/replay-failed",
                    {"since": "2000-01-01T00:00", "until": "2000-01-02T00:00"}, page=page)
    assert response.status_code == 200
    assert [a for _, _, a in in_app(webhook_world.deliveries_of, endpoint_id)] == [1, 1, 1]
    response = post(admin, f"/admin/endpoints/{endpoint_id}/replay-failed",
                    {"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}, page=page)
    assert response.status_code == 422 and 'id="until-error"' in response.get_data(as_text=True)

    receiver.reply("/down", always=Reply(status=200))
    now = datetime.now(SHANGHAI).replace(tzinfo=None, second=0, microsecond=0)
    since, until = (now - timedelta(hours=1)).isoformat(), (now + timedelta(minutes=2)).isoformat()
    response = post(admin, f"/admin/endpoints/{endpoint_id}/replay-failed", {"since": since, "until": until},
                    page=page)
    assert response.status_code == 200 and "3" in response.get_data(as_text=True)
    assert [a for _, _, a in in_app(webhook_world.deliveries_of, endpoint_id)] == [0, 0, 0]
    in_app(webhooks.deliver_due)
    assert {s for _, s, _ in in_app(webhook_world.deliveries_of, endpoint_id)} == {"DELIVERED"}
    assert [e.after["replayed"] for e in audits("webhook_delivery.replay_failed")] == [0, 3]


def test_disable_enable_and_rotate_are_audited_and_the_new_secret_is_shown_once(admin, receiver):
    client_id, _ = create_client(admin)
    endpoint_id, old = create_endpoint(admin, client_id, receiver.url("/r"))
    body = post(admin, f"/admin/endpoints/{endpoint_id}/enabled", {"enabled": "false"}).get_data(as_text=True)
    assert f'data-endpoint-id="{endpoint_id}" data-enabled="false"' in body
    response = post(admin, f"/admin/endpoints/{endpoint_id}/rotate-secret", {})
    [new] = SHOWN.findall(response.get_data(as_text=True))
    assert new != old and new.startswith("whsec_")
    assert new not in get(admin, "/admin/clients")
    post(admin, f"/admin/endpoints/{endpoint_id}/enabled", {"enabled": "true"})
    in_app(webhook_world.emit_event)
    in_app(webhooks.deliver_due)
    [got] = receiver.at("/r")
    verify(new, got.headers, got.body)
    verify(old, got.headers, got.body)  # the overlap: the old secret still signs
    updates = audits("webhook_endpoint.update")
    assert [(u.before["enabled"], u.after["enabled"]) for u in updates] == [(True, False), (False, True)]
    trail = json.dumps([[e.before, e.after] for e in audits("webhook_endpoint.rotate_secret")
                        + audits("webhook_endpoint.create")], default=str)
    assert old not in trail and new not in trail and "whsec_" not in trail
    assert in_app(db.session.scalar, sa.select(sa.func.count()).select_from(WebhookDelivery)) == 1


def _bearer_status(app, key: str) -> int:
    return done(app.test_client().get("/api/v1/integration/event-types",
                                      headers={"Authorization": f"Bearer {key}"})).status_code


def test_a_rotated_key_keeps_working_until_its_overlap_ends_then_is_refused(app, admin):
    from app.services.accounts import api_clients

    client_id, old = create_client(admin)
    assert _bearer_status(app, old) == 200
    assert in_app(db.session.scalar, sa.select(ApiClient.last_used_at).where(ApiClient.id == client_id)) is not None
    response = post(admin, f"/admin/clients/{client_id}/rotate", {"overlap_hours": "2"})
    body = response.get_data(as_text=True)
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    [new] = SHOWN.findall(body)
    assert new != old and 'data-testid="client-previous-key"' in body and old[:8] in body
    assert _bearer_status(app, new) == 200 and _bearer_status(app, old) == 200  # both, during the overlap
    [entry] = audits("api_client.rotate_key")
    assert entry.before["key_prefix"] == old[:8] and entry.after == {
        "key_prefix": new[:8], "previous_key_prefix": old[:8], "overlap_hours": 2}
    assert old not in json.dumps([entry.before, entry.after]) and new not in json.dumps(entry.after)

    # The overlap ends (moved into the past, as time would): the old key is refused, the new one works.
    in_app(lambda: (db.session.execute(sa.update(ApiClient).values(
        previous_key_expires_at=datetime.now(SHANGHAI) - timedelta(seconds=1))), db.session.commit()))
    api_clients.clear_cache()
    assert _bearer_status(app, old) == 401 and _bearer_status(app, new) == 200
    assert 'data-testid="client-previous-key"' not in get(admin, "/admin/clients")


def test_a_rotation_without_overlap_refuses_the_old_key_at_once_and_a_second_drops_the_first(app, admin):
    client_id, first = create_client(admin)
    second = SHOWN.findall(post(admin, f"/admin/clients/{client_id}/rotate", {"overlap_hours": "0"}).get_data(True))[0]
    assert _bearer_status(app, first) == 401 and _bearer_status(app, second) == 200
    third = SHOWN.findall(post(admin, f"/admin/clients/{client_id}/rotate", {"overlap_hours": "24"}).get_data(True))[0]
    fourth = SHOWN.findall(post(admin, f"/admin/clients/{client_id}/rotate", {"overlap_hours": "24"}).get_data(True))[0]
    # Never more than two keys: the third (previous) and the fourth work, the second no longer does.
    assert [_bearer_status(app, k) for k in (second, third, fourth)] == [401, 200, 200]


@pytest.mark.parametrize("overlap", ["", "-1", "169", "1.5", "２４", "abc", "99999"])
def test_a_bad_overlap_is_refused_next_to_its_field_and_nothing_changes(app, admin, overlap):
    client_id, key = create_client(admin)
    get(admin, "/admin/clients?lang=zh")
    response = post(admin, f"/admin/clients/{client_id}/rotate", {"overlap_hours": overlap})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-testid="client-rotate-error"' in body and "小时" in body
    assert audits("api_client.rotate_key") == [] and _bearer_status(app, key) == 200
    assert SHOWN.findall(body) == []


def test_a_revoked_clients_key_cannot_be_rotated(app, admin):
    client_id, key = create_client(admin)
    post(admin, f"/admin/clients/{client_id}/revoke", {})
    response = post(admin, f"/admin/clients/{client_id}/rotate", {"overlap_hours": "24"})
    assert response.status_code == 409 and SHOWN.findall(response.get_data(as_text=True)) == []
    assert audits("api_client.rotate_key") == [] and _bearer_status(app, key) == 401
