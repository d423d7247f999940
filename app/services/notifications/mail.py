"""E-mail of notifications (docs/ARCHITECTURE.md "Mail"): composing one in its reader's language,
sending a job's mails over one SMTP connection, and the sweep that keeps PENDING mails moving.

A row's ``mail_state`` says where its mail is: PENDING until the SMTP server accepted it (SENT) or
refused it for good (FAILED: a 5xx for the recipient or the message, an address or subject that
could inject headers, or still unsent after MAIL_GIVE_UP_HOURS); SKIPPED when the reader opted out
or was disabled before it went. A server that is down or answers 4xx leaves the mails PENDING
(attempts and last error recorded) and the job raises ``MailDeferred``, so RQ retries it with
backoff (``mail_dispatch.RETRY_INTERVALS``); after that, ``sweep`` queues them again. A worker killed
between the server's acceptance and the commit sends that mail twice (same Message-ID): mail is
at-least-once, never lost.

The words: the notification's own text (``app/labels.py`` ``notification_text``), a subject per
kind, a link to the screen it is about and to the reader's e-mail settings, all under
``force_locale`` of the reader's language, in ``templates/mail/notification.txt``. Only what the
in-portal notification shows goes into a mail: no secrets, no tokens.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, quote, unquote, urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from rq import get_current_job

from ...domain.enums import MailState
from ...extensions import db
from ...i18n import DEFAULT_LANGUAGE, LANGUAGES
from ...labels import notification_text
from ...models import Notification, User
from ...models.types import now_utc
from ..platform.queues import job_live
from ..platform.unit_of_work import end_read, transaction
from . import mail_dispatch, mail_prefs
from .kinds import NotificationKind

log = logging.getLogger(__name__)

SUBJECTS: dict[str, object] = {
    NotificationKind.PAYMENT_RESULT: _l("Payment result"),
    NotificationKind.APPROVAL_WAITING: _l("A payment is waiting for your approval"),
    NotificationKind.VOUCHER_REJECTED: _l("A wire voucher was rejected"),
    NotificationKind.STATEMENT_READY: _l("Your monthly statement is ready"),
    NotificationKind.DEADLINE_REMINDER: _l("Payment deadline reminder"),
}
SWEEP_BATCH = 500
JOB_BATCH = 50


class MailDeferred(Exception):
    """Some mails of the job could not be sent for now (the server is down or said 4xx): they stay
    PENDING; raised so that RQ retries the job."""


class MailRefused(ValueError):
    """A mail that must never be sent as it is (a header would carry CR/LF, no usable address)."""


# --- composing -------------------------------------------------------------------------------------

def _path(kind: str, params: dict) -> str:
    """The screen a notification is about (as ``blueprints/web/notifications._link``)."""
    if kind == NotificationKind.APPROVAL_WAITING:
        return "/approvals"
    if kind in (NotificationKind.PAYMENT_RESULT, NotificationKind.VOUCHER_REJECTED) and params.get("mergedPaymentId"):
        return "/payments/" + quote(str(params["mergedPaymentId"]), safe="")
    if kind == NotificationKind.STATEMENT_READY and params.get("month"):
        return "/statements?month=" + quote(str(params["month"]), safe="")
    if kind == NotificationKind.DEADLINE_REMINDER and params.get("paymentId"):
        return "/orders/" + quote(str(params["paymentId"]), safe="")
    return "/notifications"


def header_safe(value: str, what: str) -> str:
    """``value`` for a mail header: CR, LF (or any control character) would start a header of the
    sender's choosing (header injection), so they are refused, never stripped."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise MailRefused(f"the {what} contains a control character (CR/LF)")
    return value


def _address(text: str, what: str) -> Address:
    header_safe(text, what)
    name, addr = parseaddr(text)
    if not addr or "@" not in addr:
        raise MailRefused(f"the {what} is not an e-mail address")
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def compose(n: Notification, user: User) -> EmailMessage:
    """The mail of notification ``n`` to ``user``, in the user's language."""
    language = user.locale if user.locale in LANGUAGES else DEFAULT_LANGUAGE
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    params = n.params or {}
    with force_locale(language):
        subject = f"{_l('Reseller Payment Portal')}: {SUBJECTS.get(n.kind, n.kind)}"
        body = current_app.jinja_env.get_template("mail/notification.txt").render(
            greeting=str(_l("Hello %(name)s,", name=user.name or user.email)),
            text=notification_text(n.kind, params),
            open_label=str(_l("Open it in the portal:")),
            link=base + _path(n.kind, params),
            footer=str(_l("You receive this e-mail because of your notification settings. Change them here:")),
            settings_link=base + "/account/mail",
        )
    sender = _address(current_app.config["MAIL_FROM"], "sender (MAIL_FROM)")
    msg = EmailMessage()
    msg["Subject"] = header_safe(subject, "subject")
    msg["From"] = sender
    msg["To"] = _address(user.email, "recipient's address")
    msg["Date"] = format_datetime(n.created_at)
    # The same id on every attempt: a mail sent twice (a worker killed after the server accepted
    # it) is recognisable as one by mail clients.
    msg["Message-ID"] = f"<notification-{n.id}@{sender.domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


# --- sending ---------------------------------------------------------------------------------------

@dataclass
class SmtpSettings:
    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte
    starttls: bool
    username: str | None
    password: str | None
    timeout: float


def smtp_settings() -> SmtpSettings:
    url = urlsplit(current_app.config.get("SMTP_URL") or "")
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ValueError("SMTP_URL must look like smtp://host:port or smtps://user:password@host:port")
    query = parse_qs(url.query)
    return SmtpSettings(host=url.hostname, port=url.port or (465 if url.scheme == "smtps" else 25),
                        tls=url.scheme == "smtps", starttls=query.get("starttls", ["0"])[0] in ("1", "true"),
                        username=unquote(url.username) if url.username else None,
                        password=unquote(url.password) if url.password else None,
                        timeout=float(current_app.config.get("SMTP_TIMEOUT", 10)))


def connect() -> smtplib.SMTP:
    s = smtp_settings()
    conn: smtplib.SMTP
    if s.tls:
        conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
    else:
        conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.starttls:
            conn.starttls(context=ssl.create_default_context())
    if s.username:
        conn.login(s.username, s.password or "")
    return conn


def _permanent(exc: Exception) -> bool:
    """A refusal that another attempt would meet again: the recipient or the message itself (5xx).
    Everything else (the server down, 4xx, a refused sender or login: configuration) is retried."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _mark(nid: int, state: MailState | None = None, error: str | None = None, attempt: bool = True) -> None:
    values: dict = {"mail_error": error}
    if state is not None:
        values["mail_state"] = state.value
    if state == MailState.SENT:
        values["mail_sent_at"] = now_utc()
    if attempt:
        values["mail_attempts"] = Notification.mail_attempts + 1
    with transaction():
        db.session.execute(sa.update(Notification).where(Notification.id == nid,
                                                         Notification.mail_state == MailState.PENDING.value)
                           .values(**values))


def send(notification_ids: list[int]) -> dict[str, int]:
    """Send the PENDING mails among ``notification_ids`` (run by ``app.jobs.mail``); each row's state
    is committed as soon as it is known. Raises MailDeferred when some stay PENDING."""
    query = (sa.select(Notification, User).join(User, User.id == Notification.user_id)
             .where(Notification.id.in_([int(i) for i in notification_ids]),
                    Notification.mail_state == MailState.PENDING.value).order_by(Notification.id))
    job = get_current_job()
    if job is not None:  # a row the sweep has since given to another job is that job's to send
        query = query.where(Notification.mail_job == job.id)
    rows = [(n, u) for n, u in db.session.execute(query).all()]
    db.session.expunge_all()  # plain values from here on: each state below is its own transaction
    end_read()
    counts = {"sent": 0, "failed": 0, "skipped": 0, "deferred": 0}
    conn: smtplib.SMTP | None = None
    try:
        for i, (n, user) in enumerate(rows):
            if not mail_prefs.wants_mail(user.id, n.kind):
                end_read()
                _mark(n.id, MailState.SKIPPED, attempt=False)
                counts["skipped"] += 1
                continue
            end_read()
            try:
                msg = compose(n, user)
            except MailRefused as exc:
                _mark(n.id, MailState.FAILED, str(exc)[:300])
                counts["failed"] += 1
                continue
            try:
                if conn is None:
                    conn = connect()
                conn.send_message(msg)
            except (smtplib.SMTPException, OSError) as exc:
                if _permanent(exc):
                    _mark(n.id, MailState.FAILED, _error_text(exc))
                    counts["failed"] += 1
                    continue
                # The server is down or busy: this mail and the rest wait for the retry.
                for later, _user in rows[i:]:
                    _mark(later.id, error=_error_text(exc))
                counts["deferred"] = len(rows) - i
                log.warning("mail of %d notifications deferred: %s", counts["deferred"], _error_text(exc))
                conn = None
                raise MailDeferred(_error_text(exc)) from exc
            _mark(n.id, MailState.SENT)
            counts["sent"] += 1
    finally:
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()
    return counts


# --- the sweep -------------------------------------------------------------------------------------

def sweep() -> dict[str, int]:
    """One pass (every minute, ``app.jobs.mail.sweep_notification_mails``): PENDING mails older than
    MAIL_GIVE_UP_HOURS become FAILED; PENDING mails whose job is gone (Redis was down when they were
    written, or RQ gave up its retries) and was queued MAIL_REDISPATCH_SECONDS ago are queued again,
    JOB_BATCH to a job. How many were given up and re-queued."""
    now = now_utc()
    give_up = now - timedelta(hours=current_app.config.get("MAIL_GIVE_UP_HOURS", 72))
    lost_after = now - timedelta(seconds=current_app.config.get("MAIL_REDISPATCH_SECONDS", 120))
    pending = Notification.mail_state == MailState.PENDING.value
    with transaction():
        result = db.session.execute(sa.update(Notification).where(pending, Notification.created_at < give_up)
                                    .values(mail_state=MailState.FAILED.value,
                                            mail_error="not sent within MAIL_GIVE_UP_HOURS"))
        given_up = int(getattr(result, "rowcount", 0) or 0)
    rows = db.session.execute(sa.select(Notification.id, Notification.mail_job).where(
        pending, sa.or_(Notification.mail_queued_at.is_(None), Notification.mail_queued_at < lost_after))
        .order_by(Notification.id).limit(SWEEP_BATCH)).all()
    end_read()
    by_job: dict[str | None, list[int]] = {}
    for nid, job in rows:
        by_job.setdefault(job, []).append(nid)
    lost = [nid for job, ids in by_job.items() if job is None or not job_live(job) for nid in ids]
    requeued = 0
    for start in range(0, len(lost), JOB_BATCH):
        ids = lost[start:start + JOB_BATCH]
        job_id = mail_dispatch.new_job_id()
        with transaction():
            db.session.execute(sa.update(Notification).where(Notification.id.in_(ids), pending)
                               .values(mail_job=job_id, mail_queued_at=now))
        if mail_dispatch.enqueue(job_id, ids):
            requeued += len(ids)
    return {"given_up": given_up, "requeued": requeued}
