"""/metrics is closed by default and /readyz says up or down, nothing more (issue 11; docs/SECURITY.md)."""

from __future__ import annotations

import socket

import pytest

from app import create_app


def test_metrics_only_for_loopback_by_default(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_a_proxied_request_is_not_trusted_by_its_loopback_address(app):
    client = app.test_client()
    for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}):
        assert client.get("/metrics", headers=header).status_code == 403


def test_a_bearer_token_opens_it_from_anywhere(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-metrics-token-0123456789")
    client = app.test_client()
    far = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/metrics", environ_base=far).status_code == 403
    assert client.get("/metrics", environ_base=far, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", environ_base=far, headers={
        "Authorization": "Bearer s3cret-metrics-token-0123456789", "X-Forwarded-For": "10.9.9.9"}).status_code == 200


def test_the_allow_list_comes_from_the_environment(tmp_path):
    from app.config import load_config

    assert load_config(str(tmp_path))["METRICS_ALLOW"] == ["127.0.0.1", "::1"]
    assert load_config(str(tmp_path), {"METRICS_ALLOW": "10.0.0.5, 10.0.0.6"})["METRICS_ALLOW"] == \
        ["10.0.0.5", "10.0.0.6"]


@pytest.fixture
def broken_app(app, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return create_app({**{k: app.config[k] for k in ("TESTING", "RQ_QUEUE_PREFIX")},
                       "DATABASE_URL": str(app.config["SQLALCHEMY_DATABASE_URI"]),
                       "REDIS_URL": f"redis://127.0.0.1:{port}/0"})


def test_readiness_reveals_only_up_or_down(broken_app):
    answer = broken_app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "error"}}
