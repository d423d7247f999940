"""Notifications to people (docs/DOMAIN.md "Notifications", docs/SCREENS.md /notifications): each
producer writes them in the transaction of the change it announces, to the right people only; the
header's unread count on every signed-in page and its HTMX part; the list, marking read (CSRF),
tenant isolation per role, bad ids, both languages."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.timeutil import SHANGHAI, shanghai_today
from app.extensions import db
from app.models import Notification, Reseller, User
from app.services.notifications import inbox
from app.services.notifications.kinds import NotificationKind
from app.services.notifications.sending import notify_users
from app.services.orders import reminders
from tests.support.checkout_screen import orders, pay
from tests.support.html import dom
from tests.support.screen_setup import HTMX, add_wire_channel, make_order, post, upload, wire_payment
from tests.support.statement_world import stored_statement
from tests.support.web import PEOPLE, csrf_token

OP1, AP1, OP2 = "operator@r1001.example", "approver@r1001.example", "operator@r1002.example"


def uid(app, email: str) -> int:
    with app.app_context():
        return _uid(email)


def _uid(email: str) -> int:
    """Inside an open app context (a nested one would wait for the SQLite write lock of the outer)."""
    return db.session.scalar(sa.select(User.id).where(User.email == email))


def unread(app, email: str) -> int:
    with app.app_context():
        return inbox.unread_count(_uid(email))


def kinds_of(app, email: str) -> list[tuple[str, dict]]:
    with app.app_context():
        return [(n.kind, n.params) for n in db.session.scalars(
            sa.select(Notification).where(Notification.user_id == _uid(email)).order_by(Notification.id))]


def everyone(app) -> dict[str, list[str]]:
    return {email: [k for k, _ in kinds_of(app, email)] for email in PEOPLE}


def give(app, email: str, n: int = 1, kind: NotificationKind = NotificationKind.STATEMENT_READY) -> list[int]:
    """``n`` notifications for ``email``, written as a producer writes them; their ids."""
    with app.app_context():
        user = _uid(email)
        for i in range(n):
            notify_users([user], kind, {"documentNumber": f"ST-{i:04d}", "month": "2026-03"})
        db.session.commit()
        return list(db.session.scalars(sa.select(Notification.id).where(Notification.user_id == user)
                                       .order_by(Notification.id)))


def header_count(response) -> int:
    node = dom(response).one("notification-count")
    return int(node["data-count"])


# --- producers -----------------------------------------------------------------------------------

def test_a_payment_result_notifies_every_user_of_the_paying_company_only(app, shop, signed_in):
    (pid,) = orders(app, "100.00")
    mp_id = pay(signed_in(OP1), [(pid, "100.00", "WALLET")])
    got = everyone(app)
    assert got[OP1] == got[AP1] == ["PAYMENT_RESULT"]
    assert got[OP2] == [] and got["finance@example.com"] == [] and got["admin@example.com"] == []
    (_, params), = kinds_of(app, OP1)
    assert params == {"mergedPaymentId": mp_id, "status": "SUCCEEDED", "totalAmount": "100.00"}


def test_a_payment_waiting_for_approval_notifies_the_companys_approvers_only(app, shop, signed_in):
    with app.app_context():
        db.session.execute(sa.update(Reseller).values(approval_threshold=Decimal("1000.00")))
        db.session.commit()
    (pid,) = orders(app, "5000.00")
    mp_id = pay(signed_in(OP1), [(pid, "5000.00", "WALLET")])
    got = everyone(app)
    assert got[AP1] == ["APPROVAL_WAITING"] and got[OP1] == [] and got[OP2] == []
    assert kinds_of(app, AP1)[0][1] == {"mergedPaymentId": mp_id, "totalAmount": "5000.00"}
    page = signed_in(AP1).get("/notifications?lang=en")
    (item,) = dom(page).all("notification-item")
    assert f"Payment {mp_id} of ¥5,000.00 is waiting for your approval." in item.text
    assert 'href="/approvals"' in page.get_data(as_text=True)


def test_a_rejected_voucher_notifies_the_companys_users(app, portal, signed_in, tmp_path, monkeypatch):
    add_wire_channel()
    a = make_order(amount="1000.00")
    cp = wire_payment([(a, "1000.00")])
    vid = upload(cp)
    client = signed_in("finance@example.com")
    assert post(client, f"/finance/vouchers/{vid}/reject", {"reason": "流水中未找到"},
                csrf_token(client, "/finance/vouchers")).status_code == 302
    got = everyone(app)
    assert got[OP1] == got[AP1] == ["VOUCHER_REJECTED"] and got[OP2] == [] and got["finance@example.com"] == []
    assert kinds_of(app, OP1)[0][1]["reason"] == "流水中未找到"
    zh = dom(signed_in(OP1).get("/notifications?lang=zh")).one("notification-item").text
    assert "流水中未找到" in zh and "财务" in zh


def test_a_rejection_that_fails_writes_no_notification(app, portal, signed_in):
    client = signed_in("finance@example.com")
    token = csrf_token(client, "/finance/vouchers")
    assert post(client, "/finance/vouchers/999999/reject", {"reason": "x"}, token).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_a_ready_statement_notifies_the_companys_users(app, portal, signed_in):
    with app.app_context():
        number = stored_statement("R1001")
    got = everyone(app)
    assert got[OP1] == got[AP1] == ["STATEMENT_READY"] and got[OP2] == []
    assert kinds_of(app, OP1)[0][1] == {"documentNumber": number, "month": "2026-03"}
    en = dom(signed_in(OP1).get("/notifications?lang=en")).one("notification-item").text
    assert f"Your statement for 2026-03 is ready ({number})." in en


def test_deadline_reminders_notify_the_companys_users_once_per_stage(app, shop, signed_in):
    def at(days: int) -> datetime:
        return datetime.combine(shanghai_today() + timedelta(days=days), time(18, 0), SHANGHAI)

    soon = make_order(amount="250.00", deadline=at(3))
    make_order(reseller="R1002", amount="10.00", deadline=at(5))  # no stage today: nobody told
    with app.app_context():
        assert reminders.send_due() == 1
        assert reminders.send_due() == 0  # the second run tells nobody again
    got = everyone(app)
    assert got[OP1] == got[AP1] == ["DEADLINE_REMINDER"] and got[OP2] == []
    params = kinds_of(app, OP1)[0][1]
    assert params["paymentId"] == soon and params["stage"] == "3d" and params["payableAmount"] == "250.00"
    en = dom(signed_in(OP1).get("/notifications?lang=en")).one("notification-item").text
    assert "¥250.00 to pay, due in 3 days" in en
    zh = dom(signed_in(OP1).get("/notifications?lang=zh")).one("notification-item").text
    assert "¥250.00" in zh and "3" in zh and "due in" not in zh


# --- the header count ----------------------------------------------------------------------------

@pytest.mark.parametrize("email", list(PEOPLE))
def test_the_header_shows_the_exact_unread_count_on_every_signed_in_page_also_at_zero(app, portal, signed_in,
                                                                                       email):
    client = signed_in(email)
    home = {"reseller_operator": "/wallet", "reseller_approver": "/approvals", "finance": "/finance/vouchers",
            "admin": "/admin"}[PEOPLE[email][0]]
    assert header_count(client.get(home)) == 0
    give(app, email, 3)
    assert header_count(client.get(home)) == 3
    assert header_count(client.get("/notifications")) == 3


def test_the_count_part_polls_itself_and_answers_the_current_number(app, portal, signed_in):
    client = signed_in(OP1)
    node = dom(client.get("/wallet")).one("notification-count")
    assert node["hx-get"] == "/notifications/count" and "every" in node["hx-trigger"]
    assert node["hx-swap"] == "outerHTML"
    part = client.get("/notifications/count", headers=HTMX)
    assert part.status_code == 200 and header_count(part) == 0
    assert "<html" not in part.get_data(as_text=True)
    give(app, OP1, 2)
    assert header_count(client.get("/notifications/count", headers=HTMX)) == 2
    plain = client.get("/notifications/count")  # not HTMX: the list
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/notifications")


def test_signed_out_people_see_no_count_and_are_sent_to_sign_in(app, portal):
    client = app.test_client()
    assert 'data-testid="notification-count"' not in client.get("/login").get_data(as_text=True)
    for path in ("/notifications", "/notifications/count"):
        assert client.get(path).status_code == 302
    assert client.post("/notifications/read-all").status_code in (302, 400)


# --- the list, paging, marking read ---------------------------------------------------------------

def test_the_list_is_newest_first_and_paged(app, portal, signed_in):
    ids = give(app, OP1, inbox.PAGE_SIZE + 3)
    client = signed_in(OP1)
    first = [int(r["data-id"]) for r in dom(client.get("/notifications")).all("notification-item")]
    assert first == list(reversed(ids))[:inbox.PAGE_SIZE]
    second = [int(r["data-id"]) for r in dom(client.get("/notifications?page=2")).all("notification-item")]
    assert second == list(reversed(ids))[inbox.PAGE_SIZE:]
    assert dom(client.get("/notifications?page=99")).all("notification-item") == []
    assert client.get("/notifications?page=abc").status_code == 200
    fragment = client.get("/notifications?page=2", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and 'data-testid="notification-item"' in fragment


def test_the_empty_list_says_so_in_both_languages(app, portal, signed_in):
    client = signed_in(OP1)
    assert "No notifications yet." in client.get("/notifications?lang=en").get_data(as_text=True)
    assert "暂无通知" in client.get("/notifications?lang=zh").get_data(as_text=True)


def test_mark_one_read_then_all_read(app, portal, signed_in):
    a, b, c = give(app, OP1, 3)
    client = signed_in(OP1)
    token = csrf_token(client, "/notifications")
    response = post(client, f"/notifications/{b}/read", {}, token)
    assert response.status_code == 303 and response.headers["Location"].endswith("/notifications")
    rows = {int(r["data-id"]): r["data-read"] for r in dom(client.get("/notifications")).all("notification-item")}
    assert rows == {a: "false", b: "true", c: "false"}
    assert header_count(client.get("/wallet")) == 2
    assert post(client, f"/notifications/{b}/read", {}, token).status_code == 303  # again: nothing changes
    assert post(client, "/notifications/read-all", {}, token).status_code == 303
    assert header_count(client.get("/wallet")) == 0
    assert header_count(client.get("/notifications/count", headers=HTMX)) == 0


def test_marking_read_needs_the_csrf_token(app, portal, signed_in):
    (a,) = give(app, OP1)
    client = signed_in(OP1)
    assert client.post(f"/notifications/{a}/read").status_code == 400
    assert client.post("/notifications/read-all", data={"csrf_token": "forged"}).status_code == 400
    assert unread(app, OP1) == 1


@pytest.mark.parametrize("reader", [AP1, OP2, "finance@example.com", "admin@example.com"])
def test_another_persons_notification_is_404_for_every_role_and_stays_unread(app, portal, signed_in, reader):
    (theirs,) = give(app, OP1)
    mine = give(app, reader, 1)
    client = signed_in(reader)
    token = csrf_token(client, "/notifications")
    assert post(client, f"/notifications/{theirs}/read", {}, token).status_code == 404
    assert post(client, "/notifications/read-all", {}, token).status_code == 303  # only their own
    listed = [int(r["data-id"]) for r in dom(client.get("/notifications")).all("notification-item")]
    assert listed == mine and theirs not in listed
    assert unread(app, OP1) == 1 and unread(app, reader) == 0


@pytest.mark.parametrize("bad", ["0", "999999999", "-1", "abc", "1.5", "9" * 30, "%00", "1%20OR%201=1"])
def test_bad_ids_are_404_never_500(app, portal, signed_in, bad):
    client = signed_in(OP1)
    token = csrf_token(client, "/notifications")
    assert post(client, f"/notifications/{bad}/read", {}, token).status_code == 404
