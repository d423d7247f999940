"""Sessions that end (docs/SECURITY.md "Web"): sign-out ends every copy of the session, a password
change ends the user's other sessions, idle and absolute limits, a new id at sign-in, Secure
cookies and HSTS behind TLS. Each test replays a real cookie as an attacker who copied it would."""

from __future__ import annotations

import time
from datetime import timedelta

from app.domain.timeutil import utcnow
from app.web_sessions import SIGNED_IN_AT
from tests.support.web import PASSWORD, csrf_token, sign_in

COOKIE = "session"


def _cookie(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def _replay(app, value: str, path: str = "/orders", **kwargs):
    """A fresh browser that sends only the copied cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other.get(path, **kwargs)


def test_a_cookie_copied_before_logout_opens_nothing_afterwards(app, signed_in):
    client = signed_in("operator@r1001.example")
    copied = _cookie(client)
    assert _replay(app, copied).status_code == 200  # the copy works while the session lives
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replayed = _replay(app, copied)
    assert replayed.status_code == 302 and replayed.headers["Location"].startswith("/login?next=")
    assert client.get("/orders").status_code == 302  # and the browser that signed out is out too


def test_sign_in_issues_a_new_session_id(app, portal):
    client = app.test_client()
    csrf_token(client)  # the sign-in page stores a session (its CSRF token): an id an attacker could plant
    planted = _cookie(client)
    assert sign_in(client, "operator@r1001.example").status_code == 302
    assert _cookie(client) != planted
    assert _replay(app, planted).status_code == 302  # the planted id did not become signed in


def test_idle_sessions_end_and_the_sign_in_page_says_why(app, signed_in, monkeypatch):
    monkeypatch.setattr(app, "permanent_session_lifetime", timedelta(seconds=2))
    client = signed_in("operator@r1001.example")
    for _ in range(3):  # activity keeps it alive past the idle limit
        time.sleep(1)
        assert client.get("/orders").status_code == 200
    time.sleep(2.5)
    left = client.get("/payments?status=SUCCEEDED")
    assert left.status_code == 302
    assert left.headers["Location"] == "/login?next=/payments?status%3DSUCCEEDED"
    page = client.get(left.headers["Location"]).get_data(as_text=True)
    assert "分钟无操作" in page  # "signed out after N minutes without activity", in the user's language
    back = client.post(left.headers["Location"], data={
        "email": "operator@r1001.example", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert back.headers["Location"] == "/payments?status=SUCCEEDED"  # where they were


def test_sessions_end_12_hours_after_sign_in_whatever_the_activity(app, signed_in):
    client = signed_in("finance@example.com")
    assert client.get("/finance/vouchers").status_code == 200
    with client.session_transaction() as s:
        s[SIGNED_IN_AT] = int((utcnow() - timedelta(hours=12, minutes=1)).timestamp())
    left = client.get("/finance/vouchers?lang=en")
    assert left.status_code == 302 and left.headers["Location"].startswith("/login?next=/finance/vouchers")
    assert "12 hours after you signed in" in client.get("/login?lang=en").get_data(as_text=True)
    assert client.get("/finance/vouchers").status_code == 302
    htmx = signed_in("finance@example.com")
    with htmx.session_transaction() as s:
        s[SIGNED_IN_AT] = int((utcnow() - timedelta(hours=13)).timestamp())
    answer = htmx.get("/finance/vouchers", headers={"HX-Request": "true"})
    assert answer.status_code == 204 and answer.headers["HX-Redirect"].startswith("/login?next=")


def test_a_password_change_ends_every_other_session_and_keeps_this_one(app, signed_in):
    laptop, phone = signed_in("operator@r1001.example"), signed_in("operator@r1001.example")
    copied = _cookie(laptop)
    token = csrf_token(laptop, "/account/password")
    new = "a much better passphrase 2026"
    changed = laptop.post("/account/password", data={"current_password": PASSWORD, "new_password": new,
                                                     "confirm": new, "csrf_token": token})
    assert changed.status_code == 302
    assert laptop.get("/orders").status_code == 200
    assert phone.get("/orders").status_code == 302
    assert _replay(app, copied).status_code == 302
    assert sign_in(app.test_client(), "operator@r1001.example", new).status_code == 302
    assert sign_in(app.test_client(), "operator@r1001.example", PASSWORD).status_code == 200  # refused


def test_a_wrong_current_password_or_a_short_new_one_changes_nothing(app, signed_in):
    client = signed_in("operator@r1001.example")
    other = signed_in("operator@r1001.example")
    for current, new, confirm, field, text in (
            ("wrong password!", "a much better passphrase", "a much better passphrase", "current_password",
             "This is not your current password."),
            (PASSWORD, "short", "short", "new_password", "Use at least 12 characters."),
            (PASSWORD, "a much better passphrase", "a different passphrase", "confirm",
             "The two new passwords differ."),
            (PASSWORD, PASSWORD, PASSWORD, "new_password", "Choose a password you have not been using.")):
        token = csrf_token(client, "/account/password?lang=en")
        answer = client.post("/account/password", data={"current_password": current, "new_password": new,
                                                        "confirm": confirm, "csrf_token": token})
        body = answer.get_data(as_text=True)
        assert answer.status_code == 422 and f'id="{field}-error"' in body and text in body, (field, text)
    assert other.get("/orders").status_code == 200  # nothing changed: the other session lives
    assert sign_in(app.test_client(), "operator@r1001.example", PASSWORD).status_code == 302


def test_cookies_are_secure_and_hsts_is_sent_behind_tls(app, portal, monkeypatch):
    plain = app.test_client()
    page = plain.get("/login")
    assert "Secure" not in page.headers.get("Set-Cookie", "") and "Strict-Transport-Security" not in page.headers
    proxied = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in proxied.headers["Set-Cookie"] and "HttpOnly" in proxied.headers["Set-Cookie"]
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
    direct = app.test_client().get("/login", base_url="https://portal.example")
    assert "Secure" in direct.headers["Set-Cookie"] and "Strict-Transport-Security" in direct.headers
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)  # PUBLIC_BASE_URL https sets it
    assert "Secure" in app.test_client().get("/login").headers["Set-Cookie"]


def test_the_secure_default_follows_the_public_url(tmp_path):
    from app.config import load_config

    assert load_config(str(tmp_path), {"PUBLIC_BASE_URL": "https://pay.example.com"})["SESSION_COOKIE_SECURE"]
    assert not load_config(str(tmp_path), {"PUBLIC_BASE_URL": "http://127.0.0.1:8000"})["SESSION_COOKIE_SECURE"]
    assert load_config(str(tmp_path), {"PUBLIC_BASE_URL": "http://127.0.0.1:8000",
                                       "SESSION_COOKIE_SECURE": "1"})["SESSION_COOKIE_SECURE"]


def _slow_request(app, cookie: str):
    """A request that opens the session now and saves it when the caller says (a slow page load
    racing another request of the same browser)."""
    context = app.test_request_context("/orders", headers={"Cookie": f"{COOKIE}={cookie}"})
    context.push()
    session = app.session_interface.open_session(app, context.request)
    assert session, "the slow request sees the signed-in session"

    def finish() -> None:
        try:
            app.session_interface.save_session(app, session, app.response_class())
        finally:
            context.pop()

    return finish


def test_a_request_that_only_read_the_session_does_not_undo_a_concurrent_change(app, signed_in):
    client = signed_in("operator@r1001.example")
    finish = _slow_request(app, _cookie(client))
    assert "<html lang=\"en\">" in client.get("/orders?lang=en").get_data(as_text=True)  # stored meanwhile
    finish()
    assert "<html lang=\"en\">" in client.get("/orders").get_data(as_text=True)  # the choice survived


def test_a_request_in_flight_at_sign_out_does_not_bring_the_session_back(app, signed_in):
    client = signed_in("operator@r1001.example")
    copied = _cookie(client)
    finish = _slow_request(app, copied)
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    finish()
    assert _replay(app, copied).status_code == 302
