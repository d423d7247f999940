"""E-mail of notifications (docs/ARCHITECTURE.md "Mail", docs/SCREENS.md /account/mail), against a
real SMTP server process (the mail catcher, tests/support/mail.py): the reader gets the mail in
their language beside the in-portal notification; opting out stops the mail only; a server that is
down delays the mail and never loses it (RQ's retry, then the sweep); bad settings input and header
injection are refused. The send job is run here with the app's own job function, not by a worker."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from rq.job import Job
from rq.serializers import JSONSerializer

from app.domain.enums import MailState
from app.domain.timeutil import SHANGHAI, shanghai_today
from app.extensions import db
from app.jobs.mail import send_notification_mails, sweep_notification_mails
from app.models import AuditEntry, MailOptOut, Notification, User
from app.models.types import now_utc
from app.services.notifications import mail_dispatch
from app.services.notifications.kinds import NotificationKind
from app.services.notifications.mail import MailDeferred
from app.services.notifications.sending import notify_users
from app.services.orders import reminders
from app.services.platform.queues import redis_connection
from tests.support.html import dom
from tests.support.screen_setup import make_order, post
from tests.support.web import csrf_token

OP1, AP1, OP2 = "operator@r1001.example", "approver@r1001.example", "operator@r1002.example"
ALL_KINDS = [k.value for k in NotificationKind]


def _uid(email: str) -> int:
    return db.session.scalar(sa.select(User.id).where(User.email == email))


def mails_of(app, email: str) -> list[Notification]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Notification).join(User, User.id == Notification.user_id)
                                       .where(User.email == email).order_by(Notification.id)))
        db.session.expunge_all()
        return rows


def queued_jobs(app) -> list[Job]:
    """The send jobs of the PENDING mails, as the worker would find them in Redis."""
    with app.app_context():
        ids = set(db.session.scalars(sa.select(Notification.mail_job).where(
            Notification.mail_state == MailState.PENDING.value)))
        db.session.rollback()
        jobs = [Job.fetch(i, connection=redis_connection(), serializer=JSONSerializer) for i in sorted(ids)]
    for job in jobs:
        assert job.func_name == mail_dispatch.SEND_JOB and job.origin.endswith("low")
    return jobs


def run_jobs(app) -> list[dict]:
    """Run each queued send job's function with the job's own (JSON) arguments, as the worker does."""
    results = []
    for job in queued_jobs(app):
        with app.app_context():
            results.append(send_notification_mails(*job.args))
    return results


def reminder_due_in_3_days(app, amount: str = "250.00") -> str:
    deadline = datetime.combine(shanghai_today() + timedelta(days=3), time(18, 0), SHANGHAI)
    payment_id = make_order(amount=amount, deadline=deadline)
    with app.app_context():
        assert reminders.send_due() == 1
    return payment_id


def test_a_reseller_user_gets_the_reminder_by_mail_in_their_language_and_in_the_portal(app, shop, signed_in, smtp):
    with app.app_context():
        db.session.execute(sa.update(User).where(User.email == AP1).values(locale="en"))
        db.session.commit()
    payment_id = reminder_due_in_3_days(app)
    (n,) = mails_of(app, OP1)
    assert n.mail_state == MailState.PENDING and n.mail_attempts == 0
    assert run_jobs(app) == [{"sent": 2, "failed": 0, "skipped": 0, "deferred": 0}]

    (zh,) = smtp.messages(to=OP1)  # the operator's language is Chinese (the default)
    assert zh["subject"] == "经销商支付平台: 付款截止提醒"
    assert "¥250.00" in zh["body"] and "due in" not in zh["body"]
    assert f"/orders/{payment_id}" in zh["body"] and "/account/mail" in zh["body"]
    assert zh["from"] == "Portal <noreply@portal.example>" and zh["to"] == OP1
    (en,) = smtp.messages(to=AP1)
    assert en["subject"] == "Reseller Payment Portal: Payment deadline reminder"
    assert "¥250.00 to pay, due in 3 days" in en["body"]
    assert smtp.messages(to=OP2) == []
    inbox = smtp.page("/")  # what a new user of the demo sees
    assert inbox.count('data-testid=\'mail-row\'') == 2 and "Payment deadline reminder" in inbox
    assert "due in 3 days" in smtp.page(f"/messages/{en['id']}")

    (n,) = mails_of(app, OP1)
    assert n.mail_state == MailState.SENT and n.mail_attempts == 1 and n.mail_sent_at is not None
    assert run_jobs(app) == []  # nothing pending: a second run sends nothing
    with app.app_context():
        assert send_notification_mails([n.id]) == {"sent": 0, "failed": 0, "skipped": 0, "deferred": 0}
    assert len(smtp.messages()) == 2
    (item,) = dom(signed_in(OP1).get("/notifications")).all("notification-item")
    assert item["data-kind"] == "DEADLINE_REMINDER" and item["data-read"] == "false"


def test_opting_out_stops_the_mail_of_that_kind_but_not_the_in_portal_notification(app, shop, signed_in, smtp):
    op = signed_in(OP1)
    page = dom(op.get("/account/mail?lang=en"))
    assert all("checked" in page.one(f"mail-optout-{k}").attrs for k in ALL_KINDS)
    keep = [k for k in ALL_KINDS if k != "DEADLINE_REMINDER"]
    answer = post(op, "/account/mail", {"mail": keep}, csrf_token(op, "/account/mail"))
    assert answer.status_code == 303
    page = dom(op.get("/account/mail"))
    assert "checked" not in page.one("mail-optout-DEADLINE_REMINDER").attrs
    assert "checked" in page.one("mail-optout-PAYMENT_RESULT").attrs
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.mail_preferences")).one()
        assert entry.after == {"optedOut": ["DEADLINE_REMINDER"]} and entry.before == {"optedOut": []}

    reminder_due_in_3_days(app)
    (n,) = mails_of(app, OP1)
    assert n.mail_state is None  # no mail planned for the operator
    run_jobs(app)
    assert smtp.messages(to=OP1) == [] and len(smtp.messages(to=AP1)) == 1
    assert len(dom(op.get("/notifications")).all("notification-item")) == 1

    # Opting out after the notification was written, before its mail went: the mail is skipped.
    with app.app_context():
        notify_users([_uid(AP1)], NotificationKind.STATEMENT_READY, {"documentNumber": "ST-1", "month": "2026-03"})
        db.session.commit()
    ap = signed_in(AP1)
    assert post(ap, "/account/mail", {"mail": ["PAYMENT_RESULT"]}, csrf_token(ap, "/account/mail")).status_code == 303
    assert run_jobs(app) == [{"sent": 0, "failed": 0, "skipped": 1, "deferred": 0}]
    assert mails_of(app, AP1)[-1].mail_state == MailState.SKIPPED
    assert len(smtp.messages(to=AP1)) == 1


@pytest.mark.parametrize("data", [
    {"mail": ["NOT_A_KIND"]},
    {"mail": ["PAYMENT_RESULT", "payment_result"]},
    {"mail": ["PAYMENT_RESULT"] * 6},
    {"mail": ["DEADLINE_REMINDER\r\nBcc: x@example.com"]},
])
def test_bad_mail_settings_are_refused_and_change_nothing(app, portal, signed_in, data):
    op = signed_in(OP1)
    answer = post(op, "/account/mail?lang=en", data, csrf_token(op, "/account/mail"))
    assert answer.status_code == 422
    assert "Choose only among the kinds listed." in dom(answer).one("form-error").text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MailOptOut)) == 0


def test_mail_settings_without_the_csrf_token_are_refused(app, portal, signed_in):
    op = signed_in(OP1)
    assert op.post("/account/mail", data={"mail": []}).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MailOptOut)) == 0


def test_an_smtp_server_that_is_down_delays_the_mail_and_never_loses_it(app, shop, smtp):
    smtp.stop()
    reminder_due_in_3_days(app)
    (job,) = queued_jobs(app)
    assert job.retries_left == len(mail_dispatch.RETRY_INTERVALS)  # RQ retries it with backoff
    with app.app_context(), pytest.raises(MailDeferred):
        send_notification_mails(*job.args)
    for email in (OP1, AP1):
        (n,) = mails_of(app, email)
        assert n.mail_state == MailState.PENDING and n.mail_attempts == 1 and "Connection refused" in n.mail_error

    # RQ has given up its retries and the job is gone: the sweep queues the mails again, once the
    # redispatch delay has passed (a live job is left alone).
    with app.app_context():
        assert sweep_notification_mails() == {"given_up": 0, "requeued": 0}  # queued just now
        db.session.execute(sa.update(Notification).values(mail_queued_at=now_utc() - timedelta(hours=1)))
        db.session.commit()
        assert sweep_notification_mails() == {"given_up": 0, "requeued": 0}  # its job still waits
        job.delete()
        assert sweep_notification_mails() == {"given_up": 0, "requeued": 2}
    (again,) = queued_jobs(app)
    assert again.id != job.id

    smtp.start()  # the server is back (same port)
    assert run_jobs(app) == [{"sent": 2, "failed": 0, "skipped": 0, "deferred": 0}]
    assert {m["to"] for m in smtp.messages()} == {OP1, AP1}
    assert [n.mail_attempts for n in mails_of(app, OP1)] == [2]


def test_a_mail_unsent_for_too_long_is_given_up_visibly(app, shop, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://127.0.0.1:9")
    with app.app_context():
        notify_users([_uid(OP1)], NotificationKind.STATEMENT_READY, {"documentNumber": "ST-1", "month": "2026-03"})
        db.session.commit()
        db.session.execute(sa.update(Notification).values(created_at=now_utc() - timedelta(hours=73)))
        db.session.commit()
        assert sweep_notification_mails()["given_up"] == 1
    (n,) = mails_of(app, OP1)
    assert n.mail_state == MailState.FAILED and "MAIL_GIVE_UP_HOURS" in n.mail_error


def test_an_address_or_subject_that_would_inject_headers_is_never_sent(app, shop, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://127.0.0.1:9")  # never reached: refused before
    with app.app_context():
        db.session.execute(sa.update(User).where(User.email == OP1)
                           .values(email="operator@r1001.example\r\nBcc: victim@example.com"))
        db.session.commit()
        uid = db.session.scalar(sa.select(User.id).where(User.email.like("operator@r1001.example%")))
        notify_users([uid], NotificationKind.STATEMENT_READY, {"documentNumber": "ST-1", "month": "2026-03"})
        db.session.commit()
    assert run_jobs(app) == [{"sent": 0, "failed": 1, "skipped": 0, "deferred": 0}]
    with app.app_context():
        n = db.session.scalars(sa.select(Notification)).one()
        assert n.mail_state == MailState.FAILED and "CR/LF" in n.mail_error


def test_no_smtp_server_configured_plans_no_mail(app, shop):
    reminder_due_in_3_days(app)
    assert [n.mail_state for n in mails_of(app, OP1)] == [None]
