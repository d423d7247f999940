"""/admin/users (docs/SCREENS.md): create a user with a role and a company (the password link shown
once), disable (their sessions end at once), sign out everywhere, a one-time password link that
works once and expires (time moved by time-machine); every field's error beside it in en and zh-CN,
nothing stored; every action audited; only admins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEntry, PasswordReset, User
from tests.support import screen_setup
from tests.support.html import dom, refused_field
from tests.support.routes import ADMIN, FIN, OP1
from tests.support.web import csrf_token, done, sign_in

NEW_PASSWORD = "a-new-long-password-1"
SIGN_INS = ("user.create", "user.login", "user.login_failed", "user.logout")  # not the admin's actions


@pytest.fixture
def admin(signed_in, portal):
    return signed_in(ADMIN)


def post(client, path, data, page="/admin/users"):
    return done(client.post(path, data={**data, "csrf_token": csrf_token(client, page)}))


@screen_setup.in_app
def actions(email: str) -> list[str]:
    """The audit actions on the user after their creation (the portal fixture creates its people)."""
    rows = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_type == "user",
                                                                 AuditEntry.target_id == email,
                                                                 AuditEntry.action.not_in(SIGN_INS))
                              .order_by(AuditEntry.id)).all()
    db.session.rollback()
    return list(rows)


@screen_setup.in_app
def user(email: str) -> dict | None:
    u = db.session.scalar(sa.select(User).where(User.email == email))
    found = None if u is None else {"id": u.id, "role": u.role, "reseller": u.reseller.code if u.reseller else None,
                                    "active": u.active, "version": u.session_version, "locale": u.locale}
    db.session.rollback()
    return found


def link_of(response) -> str:
    [link] = [n.text for n in dom(response).all("shown-once-value")]
    return "/" + link.split("/", 3)[3]


def set_password(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return done(client.post(path, data={"new_password": password, "confirm": password if confirm is None else confirm,
                                        "csrf_token": csrf_token(client, "/login")}))


def test_only_admins_manage_users(signed_in, portal):
    target = user("finance2@example.com")["id"]
    for who in (FIN, OP1):
        client = signed_in(who)
        assert done(client.get("/admin/users")).status_code == 403
        token = csrf_token(client, "/account/password")
        for action in ("disable", "sign-out", "reset-password"):
            assert done(client.post(f"/admin/users/{target}/{action}", data={"csrf_token": token})).status_code == 403
        assert done(client.post("/admin/users", data={"email": "x@example.com", "role": "admin", "locale": "en",
                                                      "csrf_token": token})).status_code == 403
    assert user("x@example.com") is None and actions("finance2@example.com") == []


def test_a_created_user_sets_their_password_through_the_link_once(app, admin):
    response = post(admin, "/admin/users", {"email": "New.Op@R1001.example", "name": "新操作员",
                                            "role": "reseller_operator", "reseller": "R1001", "locale": "en"})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    path = link_of(response)
    assert user("new.op@r1001.example") == {**user("new.op@r1001.example"), "role": "reseller_operator",
                                            "reseller": "R1001", "active": True}
    assert path.split("/")[-1] not in done(admin.get("/admin/users")).get_data(as_text=True)  # shown once
    with screen_setup.APP["app"].app_context():
        assert db.session.scalar(sa.select(AuditEntry.after).where(
            AuditEntry.action == "user.create", AuditEntry.target_id == "new.op@r1001.example")) == {
            "role": "reseller_operator", "reseller": "R1001"}
    person = app.test_client()
    assert dom(done(person.get(path))).all("password-submit")
    # a bad password: the error beside the field, the link still works
    short = set_password(person, path, "short")
    assert short.status_code == 422 and dom(short).one("field-error")["data-field"] == "new_password"
    differ = set_password(person, path, NEW_PASSWORD, "something-else-entirely")
    assert differ.status_code == 422 and dom(differ).one("field-error")["data-field"] == "confirm"
    ok = set_password(person, path)
    assert ok.status_code == 303 and ok.headers["Location"].endswith("/login")
    assert sign_in(app.test_client(), "new.op@r1001.example", NEW_PASSWORD).status_code == 302
    assert "user.password_set_by_link" in actions("new.op@r1001.example")
    # once only
    again = done(app.test_client().get(path))
    assert again.status_code == 404 and dom(again).all("password-link-invalid")
    assert set_password(app.test_client(), path, "another-long-password").status_code == 404
    assert sign_in(app.test_client(), "new.op@r1001.example", NEW_PASSWORD).status_code == 302


def test_a_reset_link_expires_and_a_new_one_replaces_the_old(app, admin):
    target = user("finance2@example.com")
    first = link_of(post(admin, f"/admin/users/{target['id']}/reset-password", {}))
    second = link_of(post(admin, f"/admin/users/{target['id']}/reset-password", {}))
    assert done(app.test_client().get(first)).status_code == 404  # replaced
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=24, minutes=1), tick=True):
        assert done(app.test_client().get(second)).status_code == 404
        assert set_password(app.test_client(), second).status_code == 404
    assert actions("finance2@example.com") == ["user.password_reset_link", "user.password_reset_link"]
    with screen_setup.APP["app"].app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordReset)
                                 .where(PasswordReset.token_hash.contains(second.split("/")[-1]))) == 0


def test_disabling_a_user_ends_their_sessions_and_refuses_sign_in(app, admin, signed_in):
    finance = signed_in("finance2@example.com")
    assert done(finance.get("/finance/vouchers")).status_code == 200
    target = user("finance2@example.com")
    assert post(admin, f"/admin/users/{target['id']}/disable", {}).status_code == 303
    assert done(finance.get("/finance/vouchers")).status_code == 302  # signed out
    assert sign_in(app.test_client(), "finance2@example.com").status_code != 302
    assert user("finance2@example.com")["active"] is False
    assert post(admin, f"/admin/users/{target['id']}/enable", {}).status_code == 303
    assert sign_in(app.test_client(), "finance2@example.com").status_code == 302
    assert actions("finance2@example.com") == ["user.disable", "user.enable"]


def test_sign_out_everywhere_ends_every_session_of_the_user(admin, signed_in):
    a, b = signed_in(OP1), signed_in(OP1)
    target = user(OP1)
    assert post(admin, f"/admin/users/{target['id']}/sign-out", {}).status_code == 303
    assert done(a.get("/wallet")).status_code == 302 and done(b.get("/wallet")).status_code == 302
    assert user(OP1)["version"] == target["version"] + 1 and user(OP1)["active"] is True
    assert actions(OP1) == ["user.sign_out_everywhere"]
    assert done(signed_in(OP1).get("/wallet")).status_code == 200  # a new sign-in works


def test_an_admin_cannot_disable_themselves(admin):
    me = user(ADMIN)
    assert post(admin, f"/admin/users/{me['id']}/disable", {}).status_code == 409
    assert user(ADMIN)["active"] is True and actions(ADMIN) == []


BAD = [
    ("email", {"email": ""}, "Enter an e-mail address", "请输入电子邮箱地址"),
    ("email", {"email": "not-an-address"}, "Enter an e-mail address", "请输入电子邮箱地址"),
    ("email", {"email": "finance@example.com"}, "exists already", "已存在使用该电子邮箱的用户"),
    ("name", {"name": "x" * 201}, "At most 200 characters", "最多 200 个字符"),
    ("role", {"role": "root"}, "Choose a role", "请选择角色"),
    ("reseller", {"role": "reseller_approver", "reseller": ""}, "belongs to a company", "必须属于一家公司"),
    ("reseller", {"role": "reseller_operator", "reseller": "R9999"}, "belongs to a company", "必须属于一家公司"),
    ("locale", {"locale": "fr"}, "Choose a language", "请选择语言"),
]


@pytest.mark.parametrize("field,change,english,chinese", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_field_is_refused_beside_itself_and_nothing_is_stored(admin, field, change, english, chinese):
    good = {"email": "someone@example.com", "name": "", "role": "finance", "reseller": "", "locale": "zh"}
    for lang, words in (("en", english), ("zh", chinese)):
        admin.get(f"/admin/users?lang={lang}")
        response = post(admin, "/admin/users", {**good, **change})
        tree = refused_field(response, field, words)
        assert not tree.all("shown-once-value")
    assert user("someone@example.com") is None and actions("someone@example.com") == []


@pytest.mark.parametrize("token", ["short", "x" * 200, "A" * 43])
def test_an_unknown_or_malformed_link_is_404(app, token):
    assert done(app.test_client().get(f"/password/set/{token}")).status_code == 404


def test_staff_roles_get_no_company(admin):
    assert post(admin, "/admin/users", {"email": "fin3@example.com", "role": "finance", "reseller": "R1001",
                                        "locale": "zh"}).status_code == 201
    assert user("fin3@example.com")["reseller"] is None
    assert re.fullmatch(r"[a-z0-9]+@example\.com", "fin3@example.com")
