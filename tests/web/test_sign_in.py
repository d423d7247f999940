"""Sign-in, sign-out, CSRF, security headers, language."""

from __future__ import annotations

import uuid

from tests.support.web import PASSWORD, csrf_token, sign_in


def test_sign_in_rotates_the_session_and_lands_on_the_dashboard(app, portal):
    client = app.test_client()
    before = csrf_token(client)
    response = sign_in(client, "operator@r1001.example")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert csrf_token(client, "/") != before  # a new session, so a new token
    assert client.get("/").status_code == 200


def test_wrong_password_and_unknown_email_answer_alike_next_to_the_field(app, portal):
    for email, password in (("operator@r1001.example", "wrong password!!"), ("nobody@example.com", PASSWORD)):
        client = app.test_client()
        response = sign_in(client, email, password)
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert 'id="password-error"' in body and "邮箱或密码错误" in body
        assert client.get("/orders").status_code == 302  # still anonymous


def test_bad_email_is_shown_next_to_the_field_in_english(app, portal):
    client = app.test_client()
    token = csrf_token(client, "/login?lang=en")
    body = client.post("/login", data={"email": "not-an-email", "password": "x", "csrf_token": token}).get_data(
        as_text=True)
    assert 'id="email-error"' in body and "Enter an email address." in body


def test_next_only_goes_to_this_site(app, portal):
    for target, expected in (("/orders", "/orders"), ("//evil.example/x", "/"), ("https://evil.example", "/")):
        client = app.test_client()
        token = csrf_token(client)
        response = client.post(f"/login?next={target}", data={
            "email": "operator@r1001.example", "password": PASSWORD, "csrf_token": token})
        assert response.headers["Location"] == expected


def test_post_without_csrf_token_is_400(app, portal, signed_in):
    client = app.test_client()
    response = client.post("/login", data={"email": "operator@r1001.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/orders").status_code == 302
    operator = signed_in("operator@r1001.example")
    assert operator.post("/logout").status_code == 400
    assert operator.get("/").status_code == 200  # still signed in


def test_logout_is_a_post_with_the_token_and_ends_the_session(app, signed_in):
    client = signed_in("operator@r1001.example")
    token = csrf_token(client, "/")
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_htmx_request_carries_the_token_as_a_header(app, signed_in):
    client = signed_in("operator@r1001.example")
    token = csrf_token(client, "/")
    assert client.post("/logout", headers={"HX-Request": "true"}).status_code == 400
    assert client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": token}).status_code == 302


def test_anonymous_htmx_request_is_sent_to_sign_in_as_a_whole_page(app, portal):
    response = app.test_client().get("/orders", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/login?next=")


def test_security_headers_and_vary(app, portal):
    response = app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    assert "<script>" not in body and " style=" not in body and " on" + "click=" not in body


def test_login_is_rate_limited_per_address(app, portal, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    client = app.test_client()
    codes = []
    for i in range(5):
        token = csrf_token(client)
        codes.append(client.post("/login", data={
            "email": f"probe{i}@{app.config['RQ_QUEUE_PREFIX']}example.com", "password": "x", "csrf_token": token,
        }, environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code)
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_login_is_rate_limited_per_account_from_any_address(app, portal, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    client = app.test_client()
    email = f"target@{app.config['RQ_QUEUE_PREFIX']}{uuid.uuid4().hex[:8]}.example.com"
    codes = []
    for i in range(5):
        token = csrf_token(client)
        codes.append(client.post("/login", data={"email": f"  {email.upper()} ", "password": "x", "csrf_token": token},
                                 environ_base={"REMOTE_ADDR": f"10.9.7.{i}"}).status_code)
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]  # five addresses, one account


def test_language_by_query_then_remembered(app, portal):
    client = app.test_client()
    assert "登录" in client.get("/login").get_data(as_text=True)
    assert "Sign in" in client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in client.get("/login").get_data(as_text=True)  # kept in the session
    assert 'lang="zh-CN"' in client.get("/login?lang=zh").get_data(as_text=True)


def test_a_user_whose_session_version_changed_is_signed_out(app, signed_in):
    from app.extensions import db
    from app.models import User

    client = signed_in("operator@r1001.example")
    with app.app_context():
        user = db.session.query(User).filter_by(email="operator@r1001.example").one()
        user.session_version += 1
        db.session.commit()
    assert client.get("/").status_code == 302
