"""docs/API.md §1 and §11 across every route: authentication (401), scopes (403), unknown paths (404),
requests in progress (409, PostgreSQL), rate limits (429), internal errors (500), request ids, and
the operations endpoints. Route matrices are generated from ``app.url_map``; malformed bodies are
in test_api_malformed_input.py."""

from __future__ import annotations

import re
import socket
import uuid

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import ApiClient, AuditEntry
from app.services.accounts import api_clients
from app.services.orders import writer_pg as order_writer_pg
from app.services.orders.creation import CREATE_OPERATION
from app.services.platform import idempotency, outbox
from tests.support.api import (
    CREATE,
    LIST,
    assert_error,
    assert_ok,
    order_body,
    order_row,
    order_url,
    reseller_url,
)

ALL_SCOPES = {"payments", "refunds", "credit", "finance", "disburse", "resellers", "webhooks"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _keyed_routes(app) -> list[tuple[str, str, frozenset]]:
    """(method, url with dummy path values, scopes) of every API route that takes a key."""
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.rule.startswith("/api/v1/") or not hasattr(view, "required_scopes"):
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: f"X-{m.group(1)}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, url, frozenset(view.required_scopes)))
    return sorted(out)


def _call(client, method, url, headers):
    kwargs = {"method": method, "headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kwargs.update(data="{}", content_type="application/json")
    return client.open(url, **kwargs)


def test_every_api_route_except_documents_and_callbacks_needs_a_key(app):
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    keyed = _keyed_routes(app)
    keyed_urls = {url for _, url, _ in keyed}
    open_routes = {r for r in routes
                   if re.sub(r"<(?:\w+:)?(\w+)>", lambda m: f"X-{m.group(1)}", r) not in keyed_urls}
    assert all(r == "/api/v1/openapi.json" or "/callback" in r for r in open_routes), open_routes
    assert len(keyed) >= 11


@pytest.mark.parametrize("auth", [
    None, "", "Bearer", "Bearer ", "Bearer rpp_not-a-real-key-0000000000000", "Basic dXNlcjpwYXNzd29yZA==",
    "Token {key}", "{key}", "Bearer{key}", "Bearer {key}x",
])
def test_missing_bad_or_wrong_scheme_key_is_401_everywhere(app, client, make_api_key, reseller, row_counts, auth):
    key = make_api_key()
    headers = {} if auth is None else {"Authorization": auth.format(key=key)}
    before = row_counts()
    for method, url, _ in _keyed_routes(app):
        r = _call(client, method, url, headers)
        assert_error(r, 401, "UNAUTHORIZED")
        assert r.headers["X-Request-Id"]
    assert row_counts() == before


def test_scheme_is_case_insensitive(client, make_api_key, reseller):
    key = make_api_key("payments")
    assert_ok(client.get(LIST, headers={"Authorization": f"bearer {key}"}))


def test_deactivated_client_is_401(app, api, reseller, row_counts):
    assert_ok(api.get(LIST))
    with app.app_context():
        db.session.execute(sa.update(ApiClient).values(active=False))
        db.session.commit()
        api_clients.clear_cache()
    before = row_counts()
    assert_error(api.post(CREATE, json=order_body()), 401, "UNAUTHORIZED")
    assert row_counts() == before


def test_a_key_without_the_scope_is_403_everywhere(app, api_with, reseller, row_counts):
    routes = _keyed_routes(app)
    callers = {scopes: api_with(",".join(sorted(ALL_SCOPES - scopes))) for scopes in {s for *_, s in routes}}
    before = row_counts()
    for method, url, scopes in routes:
        caller = callers[scopes]
        r = _call(caller.client, method, url, caller._headers())
        assert_error(r, 403, "FORBIDDEN")
    assert row_counts() == before


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/nope"), ("POST", "/api/v1/integration/payment/create/extra"), ("GET", "/api/v1/"),
    ("GET", "/api/v2/integration/payment"), ("PUT", "/api/v1/integration/resellers/"),
])
def test_unknown_api_path_is_json_404(api, row_counts, method, path):
    before = row_counts()
    r = api.client.open(path, method=method, headers=api._headers(), data="{}", content_type="application/json")
    assert_error(r, 404, "NOT_FOUND")
    assert r.headers["X-Request-Id"]
    assert row_counts() == before


def test_wrong_method_on_an_api_path_is_json(api, row_counts):
    before = row_counts()
    r = api.client.delete(CREATE, headers=api._headers())
    assert r.status_code == 405 and r.mimetype == "application/json" and r.get_json()["message"]
    assert row_counts() == before


# --- 409 REQUEST_IN_PROGRESS (PostgreSQL advisory lock) ---------------------------------------------

@pytest.mark.postgres_only
@pytest.mark.parametrize("via", ["requestId", "header"])
def test_same_key_while_the_first_is_running_is_409(app, api, reseller, row_counts, is_postgres, via):
    if not is_postgres:
        pytest.skip("the in-progress lock is a PostgreSQL advisory lock")
    with app.app_context():
        client_id = api_clients.authenticate(api.key).id
        lock = idempotency.lock_id(client_id, CREATE_OPERATION, "busy-1")
        conn = db.engine.connect()
    body, headers = (order_body(requestId="busy-1"), None) if via == "requestId" else (
        order_body(), {"Idempotency-Key": "busy-1"})
    try:
        tx = conn.begin()
        assert conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock}).scalar() is True
        before = row_counts()
        assert_error(api.post(CREATE, json=body, headers=headers), 409, "REQUEST_IN_PROGRESS")
        assert row_counts() == before
        tx.rollback()
    finally:
        conn.close()
    assert_ok(api.post(CREATE, json=body, headers=headers), 201)


# --- 429 RATE_LIMITED ---------------------------------------------------------------------------------

@pytest.fixture
def make_app(app, database_url):
    """A second app on the same database with some settings changed; disposed afterwards."""
    made = []

    def make(**overrides):
        cfg = {"DATABASE_URL": database_url, "REDIS_URL": app.config["REDIS_URL"], "TESTING": True,
               "RQ_QUEUE_PREFIX": app.config["RQ_QUEUE_PREFIX"],
               # The limiter extension is shared by every app: keep its storage on the live Redis.
               "RATELIMIT_STORAGE_URI": app.config["RATELIMIT_STORAGE_URI"],
               "API_RATE_LIMIT": app.config["API_RATE_LIMIT"]} | overrides
        other = create_app(cfg)
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def test_too_many_requests_is_429_and_nothing_is_stored(make_app, make_api_key, reseller, row_counts):
    limited = make_app(API_RATE_LIMIT="3 per minute")
    client = limited.test_client()
    key, other_key = make_api_key("payments"), make_api_key("payments")
    h = {"Authorization": f"Bearer {key}"}
    for _ in range(3):
        assert_ok(client.get(LIST, headers=h))
    before = row_counts()
    r = client.post(CREATE, json=order_body(requestId="rl-1"), headers=h)
    assert_error(r, 429, "RATE_LIMITED")
    assert r.headers["X-Request-Id"]
    r = client.post(CREATE, json=order_body(requestId="rl-1"), headers=h | {"X-Request-Id": "rl-req-1"})
    assert_error(r, 429, "RATE_LIMITED")
    assert r.headers["X-Request-Id"] == "rl-req-1"
    assert row_counts() == before
    # The bucket is per API key: another client is not starved.
    assert_ok(client.post(CREATE, json=order_body(), headers={"Authorization": f"Bearer {other_key}"}), 201)


# --- 500 INTERNAL_ERROR: nothing half-done is left behind -------------------------------------------

def _fail_after(monkeypatch, module, name):
    real = getattr(module, name)

    def boom(*args, **kwargs):
        real(*args, **kwargs)  # the rows are written in the session, then the request fails
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(module, name, boom)


def test_crash_during_create_is_500_and_stores_nothing(api, reseller, row_counts, monkeypatch):
    # The general path (PostgreSQL takes it when the one-statement path declines).
    monkeypatch.setattr(order_writer_pg, "insert_order", lambda *args, **kwargs: None)
    _fail_after(monkeypatch, idempotency, "store")
    before = row_counts()
    b = assert_error(api.post(CREATE, json=order_body(requestId="crash-1")), 500, "INTERNAL_ERROR")
    assert "simulated" not in b["message"]
    assert row_counts() == before
    monkeypatch.undo()
    assert_ok(api.post(CREATE, json=order_body(requestId="crash-1")), 201)


def test_one_statement_create_failing_in_its_last_insert_stores_nothing(api, reseller, row_counts, monkeypatch,
                                                                         is_postgres):
    """PostgreSQL's one-statement create: the idempotency key is its last insert; when that one
    fails (here: a value too long for its column) the order and every other row go with it."""
    if not is_postgres:
        pytest.skip("the one-statement create is PostgreSQL's")
    real = idempotency.key_row
    monkeypatch.setattr(idempotency, "key_row", lambda *a, **kw: real(*a, **kw) | {"operation": "x" * 41})
    before = row_counts()
    assert_error(api.post(CREATE, json=order_body(requestId="crash-2")), 500, "INTERNAL_ERROR")
    assert row_counts() == before
    monkeypatch.undo()
    assert_ok(api.post(CREATE, json=order_body(requestId="crash-2")), 201)
    assert row_counts()["payment_orders"] == before["payment_orders"] + 1


def test_crash_during_patch_is_500_and_changes_nothing(app, api, order, row_counts, monkeypatch):
    _fail_after(monkeypatch, outbox, "emit")
    before, row_before = row_counts(), order_row(app, order["paymentId"])
    assert_error(api.patch(order_url(order["paymentId"]), json={"action": "FREEZE"}), 500, "INTERNAL_ERROR")
    assert row_counts() == before and order_row(app, order["paymentId"]) == row_before


def test_crash_during_upsert_is_500_and_stores_nothing(api, row_counts, monkeypatch):
    _fail_after(monkeypatch, outbox, "emit")
    before = row_counts()
    assert_error(api.put(reseller_url("R8008"), json={"name": "Crash Co"}), 500, "INTERNAL_ERROR")
    assert row_counts() == before
    monkeypatch.undo()
    assert_error(api.get(reseller_url("R8008")), 404, "NOT_FOUND")


# --- request ids ------------------------------------------------------------------------------------

def test_request_id_is_echoed_or_generated(app, api, reseller):
    sent = f"req-{uuid.uuid4().hex[:12]}"
    r = api.post(CREATE, json=order_body(), headers={"X-Request-Id": sent})
    assert r.headers["X-Request-Id"] == sent
    pid = assert_ok(r, 201)["paymentId"]
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEntry.request_id).where(AuditEntry.target_id == pid)) == sent
    generated = {api.get(LIST).headers["X-Request-Id"] for _ in range(3)}
    assert len(generated) == 3 and all(g for g in generated)
    assert api.client.get("/healthz").headers["X-Request-Id"]
    assert api.client.get("/healthz", headers={"X-Request-Id": sent}).headers["X-Request-Id"] == sent


# --- operations (docs/API.md §11) ------------------------------------------------------------------------

def test_healthz_and_readyz(client):
    assert client.get("/healthz").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readyz_is_503_when_redis_is_unreachable(make_app):
    broken = make_app(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    r = broken.test_client().get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"].startswith("error")
    assert broken.test_client().get("/healthz").status_code == 200


def test_metrics_is_prometheus_text(client, api, reseller):
    api.get(LIST)
    r = client.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    text = r.get_data(as_text=True)
    assert "# TYPE portal_http_requests_total counter" in text
    assert re.search(r'^portal_http_requests_total\{.*endpoint="api.list_orders".*\} \d', text, re.M)


def test_openapi_documents_every_api_route(app, client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    assert doc["openapi"] == "3.1.0"
    prefix = doc["servers"][0]["url"]
    assert prefix == "/api/v1"
    expected = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + _camel(m.group(1)) + "}", rule.rule[len(prefix):])
        expected |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(m, p) for p, item in doc["paths"].items() for m in item
                  if m in ("get", "post", "put", "patch", "delete")}
    assert expected - documented == set(), "routes missing from the OpenAPI document"
    assert documented - expected == set(), "documented operations without a route"
    for p, item in doc["paths"].items():
        for m, op in item.items():
            assert op["responses"], (m, p)
            params = {x["name"] for x in op.get("parameters", []) if x["in"] == "path"}
            assert params == set(re.findall(r"{(\w+)}", p)), (m, p)


def test_api_answers_carry_the_security_headers_of_the_pages(api, reseller):
    """API headers are computed once and reused (app/web_setup.py): every answer, errors included,
    still carries them, the same as a page's."""
    names = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
             "Permissions-Policy")
    page = api.client.get("/healthz")
    for r in (api.post(CREATE, json=order_body()), api.get(LIST), api.client.get(LIST), api.get(LIST)):
        assert {n: r.headers.get(n) for n in names} == {n: page.headers[n] for n in names}
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
        assert "Set-Cookie" not in r.headers  # the API sets no session cookie
