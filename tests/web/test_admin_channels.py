"""/admin/channels (docs/SCREENS.md): the list, the edit form with every field checked beside itself
(en and zh-CN, nothing stored on an error), every change audited with before/after, the checkout no
longer offering a channel the admin switched off or put in maintenance, and the callback secret's
rotation with an overlap, driven through the real callback route with time moved by time-machine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import time_machine

from app.channels.online import signature
from app.domain.timeutil import SHANGHAI
from app.extensions import db
from app.models import AuditEntry, Channel, Reseller
from tests.support import screen_setup
from tests.support.factories import add_channel
from tests.support.html import dom, refused_field
from tests.support.routes import ADMIN, FIN, OP1
from tests.support.web import csrf_token, done

GOOD = {"name": "工商银行电汇", "name_en": "ICBC wire", "enabled": "true", "min_amount": "0.01", "max_amount": "",
        "daily_limit_per_reseller": "", "available_to_all": "true", "maintenance_start": "", "maintenance_end": ""}


@pytest.fixture
def admin(signed_in, shop):
    return signed_in(ADMIN)


def post(client, path, data, page="/admin/channels"):
    return done(client.post(path, data={**data, "csrf_token": csrf_token(client, page)}))


@screen_setup.in_app
def audits(action: str) -> list[SimpleNamespace]:
    rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()
    return [SimpleNamespace(target=r.target_id, actor=r.actor_id, before=r.before, after=r.after) for r in rows]


@screen_setup.in_app
def channel_row(code: str) -> dict:
    ch = db.session.scalar(sa.select(Channel).where(Channel.code == code))
    row = {c.name: getattr(ch, c.name) for c in Channel.__table__.columns if c.name != "updated_at"}
    row["resellers"] = sorted(r.code for r in ch.resellers)
    db.session.rollback()
    return row


@screen_setup.in_app
def reseller_id(code: str) -> int:
    return db.session.scalar(sa.select(Reseller.id).where(Reseller.code == code))


def test_the_list_links_each_channel_to_its_edit_form(admin):
    tree = dom(done(admin.get("/admin/channels?lang=en")))
    rows = tree.all("channel-row")
    assert [r["data-channel-code"] for r in rows] == ["WALLET", "CREDIT", "WIRE_ICBC"]
    links = {a["href"] for a in rows[2].all(tag="a")}
    assert links == {"/admin/channels/WIRE_ICBC"}
    form = dom(done(admin.get("/admin/channels/WIRE_ICBC")))
    assert form.one("channel-enabled")["checked"] is not None and form.one("channel-save")


def test_only_admins_open_or_change_channels(signed_in, shop):
    for who in (FIN, OP1):
        client = signed_in(who)
        assert done(client.get("/admin/channels")).status_code == 403
        assert done(client.get("/admin/channels/WIRE_ICBC")).status_code == 403
        token = csrf_token(client, "/account/password")
        assert done(client.post("/admin/channels/WIRE_ICBC", data={**GOOD, "enabled": "", "csrf_token": token})
                    ).status_code == 403
        assert done(client.post("/admin/channels/WIRE_ICBC/rotate-secret",
                                data={"overlap_hours": "1", "csrf_token": token})).status_code == 403
    assert channel_row("WIRE_ICBC")["enabled"] is True and audits("channel.update") == []


def test_saving_changes_every_setting_and_audits_before_and_after(admin):
    r1002 = reseller_id("R1002")
    response = post(admin, "/admin/channels/WIRE_ICBC", {
        **GOOD, "name": "电汇（新）", "enabled": "", "min_amount": "10", "max_amount": "1,000,000.50",
        "daily_limit_per_reseller": "2000000", "available_to_all": "", "resellers": [str(r1002)],
        "maintenance_start": "2026-03-12T22:00", "maintenance_end": "2026-03-13T02:30"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/channels")
    row = channel_row("WIRE_ICBC")
    assert (row["name"], row["enabled"], row["min_amount"], row["max_amount"], row["daily_limit_per_reseller"],
            row["available_to_all"], row["resellers"]) == ("电汇（新）", False, Decimal("10.00"), Decimal("1000000.50"),
                                                           Decimal("2000000.00"), False, ["R1002"])
    assert row["maintenance_start"] == datetime(2026, 3, 12, 14, 0, tzinfo=UTC)  # Beijing 22:00
    assert row["maintenance_end"] == datetime(2026, 3, 12, 18, 30, tzinfo=UTC)
    [entry] = audits("channel.update")
    assert entry.target == "WIRE_ICBC" and entry.actor
    assert entry.before["enabled"] is True and entry.after["enabled"] is False
    assert entry.before["max_amount"] is None and entry.after["max_amount"] == "1000000.50"
    assert entry.before["reseller_codes"] == [] and entry.after["reseller_codes"] == ["R1002"]
    assert entry.after["maintenance_start"] == "2026-03-12T22:00:00+08:00"
    # the form shows what was saved; saving it unchanged writes nothing
    form = dom(done(admin.get("/admin/channels/WIRE_ICBC")))
    assert form.one(id="maintenance_start")["value"] == "2026-03-12T22:00"
    assert form.one("channel-enabled").attrs.get("checked") is None
    again = post(admin, "/admin/channels/WIRE_ICBC", {
        **GOOD, "name": "电汇（新）", "enabled": "", "min_amount": "10.00", "max_amount": "1000000.50",
        "daily_limit_per_reseller": "2000000.00", "available_to_all": "", "resellers": [str(r1002)],
        "maintenance_start": "2026-03-12T22:00", "maintenance_end": "2026-03-13T02:30"})
    assert again.status_code == 303 and len(audits("channel.update")) == 1


def _offered(client, reseller: str = "R1001") -> list[str]:
    """The channels the checkout screen offers for an order of ``reseller``."""
    payment_id = screen_setup.make_order(reseller, "100.00")
    tree = dom(done(client.get(f"/checkout?ids={payment_id}&lang=en")))
    options = [o["value"] for o in tree.one("alloc-channel").all(tag="option")]
    assert options == [h["data-channel"] for h in tree.all("channel-hint")]
    return [h["data-channel"] for h in tree.all("channel-hint")]


def test_a_disabled_channel_or_one_in_maintenance_is_not_offered_at_checkout(admin, signed_in):
    operator = signed_in(OP1)
    assert _offered(operator) == ["WALLET", "CREDIT", "WIRE_ICBC"]
    assert post(admin, "/admin/channels/WIRE_ICBC", {**GOOD, "enabled": ""}).status_code == 303
    assert _offered(operator) == ["WALLET", "CREDIT"]
    beijing = datetime.now(SHANGHAI)
    from_ = (beijing - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    until = (beijing + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert post(admin, "/admin/channels/WIRE_ICBC", {**GOOD, "maintenance_start": from_,
                                                     "maintenance_end": until}).status_code == 303
    assert _offered(operator) == ["WALLET", "CREDIT"]
    assert "In maintenance now" in done(admin.get("/admin/channels?lang=en")).get_data(as_text=True)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2), tick=True):
        assert _offered(operator) == ["WALLET", "CREDIT", "WIRE_ICBC"]  # the window is over


def test_a_channel_open_to_listed_resellers_is_offered_to_them_only(admin, signed_in):
    post(admin, "/admin/channels/WIRE_ICBC", {**GOOD, "available_to_all": "", "resellers": [str(reseller_id("R1002"))]})
    assert _offered(signed_in(OP1)) == ["WALLET", "CREDIT"]
    assert _offered(signed_in("operator@r1002.example"), "R1002") == ["WALLET", "CREDIT", "WIRE_ICBC"]


# --- bad input: the error beside its field, in the reader's language, nothing stored ----------------

BAD = [
    ("name", {"name": ""}, "Enter a name of at most 100 characters", "请输入最多 100 个字符的名称"),
    ("name", {"name": "x" * 101}, "Enter a name of at most 100 characters", "请输入最多 100 个字符的名称"),
    ("name_en", {"name_en": "x" * 101}, "At most 100 characters", "最多 100 个字符"),
    ("min_amount", {"min_amount": ""}, "Enter the amount", None),
    ("min_amount", {"min_amount": "abc"}, "Enter an amount in yuan", None),
    ("min_amount", {"min_amount": "0"}, "greater than 0", None),
    ("min_amount", {"min_amount": "1.001"}, "two decimals", None),
    ("max_amount", {"max_amount": "-5"}, None, None),
    ("max_amount", {"min_amount": "100", "max_amount": "99.99"}, "must not be below the smallest",
     "单笔最高金额不能低于单笔最低金额"),
    ("daily_limit_per_reseller", {"daily_limit_per_reseller": "1e9"}, "Enter an amount in yuan", None),
    ("resellers", {"resellers": ["abc"]}, "Choose resellers from the list", "请从列表中选择经销商"),
    ("resellers", {"resellers": ["99999999"]}, "Choose resellers from the list", "请从列表中选择经销商"),
    ("maintenance_start", {"maintenance_start": "tomorrow", "maintenance_end": "2026-03-13T02:00"},
     "Enter a date and time", "请输入日期和时间"),
    ("maintenance_end", {"maintenance_start": "2026-03-13T02:00"}, "Enter both the start and the end",
     "请同时填写维护时段的开始和结束时间"),
    ("maintenance_start", {"maintenance_end": "2026-03-13T02:00"}, "Enter both the start and the end", None),
    ("maintenance_end", {"maintenance_start": "2026-03-13T02:00", "maintenance_end": "2026-03-13T01:00"},
     "The end must be after the start", None),
    ("maintenance_end", {"maintenance_start": "2026-03-13T02:00", "maintenance_end": "3026-03-13T02:00"},
     "Enter a date and time", None),
]


@pytest.mark.parametrize("field,change,english,chinese", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_field_is_refused_beside_itself_and_nothing_is_stored(admin, field, change, english, chinese):
    before = channel_row("WIRE_ICBC")
    for lang, words in (("en", english), ("zh", chinese)):
        admin.get(f"/admin/channels?lang={lang}")
        response = post(admin, "/admin/channels/WIRE_ICBC", {**GOOD, "enabled": "", **change})
        tree = refused_field(response, field, words)
        assert tree.one(id=field)["aria-invalid"] == "true" if field != "resellers" else True
    assert channel_row("WIRE_ICBC") == before and audits("channel.update") == []


def test_an_unknown_channel_is_404(admin):
    assert done(admin.get("/admin/channels/NOPE")).status_code == 404
    assert post(admin, "/admin/channels/NOPE", GOOD).status_code == 404
    assert done(admin.get("/admin/channels/" + "A" * 40)).status_code == 404


# --- the callback secret: rotation with an overlap --------------------------------------------------

CODE = "ONLINE_ROT"
BODY = json.dumps({"type": "payment", "merchantNo": "MCH9", "merchantOrderNo": "NO-SUCH-PAYMENT",
                   "status": "SUCCESS", "amount": "1.00", "eventId": "evt-1"}).encode()


@pytest.fixture
def online(admin):
    screen_setup.in_app(add_channel)(CODE, "ONLINE", config={"base_url": "http://127.0.0.1:9", "merchant_no": "MCH9"},
                                     secrets={"api_secret": "api-secret", "callback_secret": "old-callback-secret"})
    return admin


def callback(client, secret: str) -> str:
    """The answer of the payment callback route to BODY signed with ``secret`` now."""
    response = done(client.post(f"/api/v1/payment/callback/online/{CODE}", data=BODY,
                                headers={signature.HEADER: signature.sign(secret, BODY),
                                         "Content-Type": "application/json"}))
    return f"{response.status_code} {response.get_data(as_text=True)}"


# the signature verified; the payment is unknown (nothing to settle: what is tested is the signature)
ACCEPTED = "400 rejected: unknown merchant order"
REFUSED = "400 rejected: bad or stale signature"


def rotate(client, hours: str):
    return post(client, f"/admin/channels/{CODE}/rotate-secret", {"overlap_hours": hours},
                page=f"/admin/channels/{CODE}")


@screen_setup.in_app
def raw_secrets() -> str:
    text = db.session.scalar(sa.select(Channel.secrets_enc).where(Channel.code == CODE))
    db.session.rollback()
    return text


def test_a_rotated_secret_overlaps_then_the_old_one_is_refused(app, online):
    assert callback(app.test_client(), "old-callback-secret") == ACCEPTED
    response = rotate(online, "24")
    assert response.status_code == 200
    [new] = [n.text for n in dom(response).all("shown-once-value")]
    assert len(new) == 64 and new not in raw_secrets() and "old-callback-secret" not in raw_secrets()
    # shown once: never again on the form or the list
    assert new not in done(online.get(f"/admin/channels/{CODE}")).get_data(as_text=True)
    assert new not in done(online.get("/admin/channels")).get_data(as_text=True)
    assert dom(done(online.get(f"/admin/channels/{CODE}"))).all("channel-previous-secret")
    caller = app.test_client()
    assert callback(caller, "old-callback-secret") == ACCEPTED  # the overlap: both verify
    assert callback(caller, new) == ACCEPTED
    assert callback(caller, "another-secret") == REFUSED
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=23, minutes=50), tick=True):
        assert callback(caller, "old-callback-secret") == ACCEPTED
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=24, minutes=10), tick=True):
        assert callback(caller, "old-callback-secret") == REFUSED  # the overlap is over
        assert callback(caller, new) == ACCEPTED
        assert not dom(done(online.get(f"/admin/channels/{CODE}"))).all("channel-previous-secret")
    [entry] = audits("channel.rotate_secret")
    assert entry.target == CODE and entry.before == {"previous_valid_until": None}
    assert entry.after["secret"] == "callback_secret" and entry.after["previous_valid_until"]
    assert new not in json.dumps(entry.after) and "old-callback-secret" not in json.dumps(entry.after)


def test_a_rotation_without_overlap_refuses_the_old_secret_at_once(app, online):
    assert rotate(online, "0").status_code == 200
    assert callback(app.test_client(), "old-callback-secret") == REFUSED


@pytest.mark.parametrize("hours", ["", "x", "-1", "169", "1.5", "99999"])
def test_a_bad_overlap_is_refused_beside_the_field_and_nothing_rotates(app, online, hours):
    before = raw_secrets()
    for lang, words in (("en", "Enter whole hours from 0 to 168"), ("zh", "请输入 0 到 168 之间的整数小时")):
        online.get(f"/admin/channels?lang={lang}")
        response = rotate(online, hours)
        assert response.status_code == 422
        tree = dom(response)
        [error] = tree.all("field-error")
        assert error["data-field"] == "overlap_hours" and words in error.text
        assert not tree.all("shown-once-value")
    assert raw_secrets() == before and audits("channel.rotate_secret") == []


def test_a_channel_without_a_callback_secret_cannot_rotate(online):
    response = post(online, "/admin/channels/WIRE_ICBC/rotate-secret", {"overlap_hours": "1"})
    assert response.status_code == 409 and not dom(response).all("shown-once-value")
    assert audits("channel.rotate_secret") == []
