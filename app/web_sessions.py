"""Sign-in sessions of the screens (docs/SECURITY.md "Web"), kept server-side in Redis (Flask-Session).

The browser holds only a random session id; the session itself lives in Redis, so that:

- signing out deletes it: a copy of the cookie taken before ``/logout`` opens nothing afterwards;
- it ends after ``SESSION_IDLE_MINUTES`` without a request (default 30): its Redis entry expires,
  and each request renews it;
- it ends ``SESSION_MAX_HOURS`` after sign-in whatever the activity (default 12), checked on every
  request against the sign-in time the session carries;
- a new id is issued at sign-in (no fixation); a password change ends every session of that user
  (``users.session_version``, checked by the user loader).

A request saves the session only when it changed it; one that merely read it renews its expiry
(``EXPIRE``), and one that changed a stored session writes it only while it still exists
(``SET XX``). So a slow request that started before a sign-out cannot bring the session back, and
one that only read it cannot undo what a concurrent request stored (the language chosen by
``?lang=``, say).

A cookie whose session is gone (idle, too old, or signed out elsewhere) is remembered for that one
request, so the sign-in page can say why. The API and the channel callbacks never open a session.
The cookie is ``Secure`` when the portal's public URL is https, when ``SESSION_COOKIE_SECURE=1``,
or when the request itself arrived over TLS (directly or as ``X-Forwarded-Proto: https``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Request, current_app, g, request, session
from flask_session.base import ServerSideSession
from flask_session.redis import RedisSessionInterface
from redis import Redis

from .domain.timeutil import utcnow

SIGNED_IN_AT = "signed_in_at"  # unix seconds, set at sign-in


class PortalSessionInterface(RedisSessionInterface):
    def open_session(self, app: Flask, request: Request):
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        session = super().open_session(app, request)
        cookie = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        # Flask-Session answers a cookie whose session is gone with a new, empty one.
        g.session_lapsed = bool(cookie) and not session
        g.session_stored_sid = session.sid if session else None
        return session

    def _upsert_session(self, session_lifetime: timedelta, session: ServerSideSession, store_id: str) -> None:
        ttl = int(session_lifetime.total_seconds())
        stored = g.get("session_stored_sid") == session.sid
        if stored and not session.modified:
            self.client.expire(store_id, ttl)
            return
        self.client.set(store_id, self.serializer.encode(session), ex=ttl, xx=stored)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure
                    or request.headers.get("X-Forwarded-Proto", "") == "https")


def init_sessions(app: Flask, redis_client: Redis) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True
    app.session_interface = PortalSessionInterface(
        app, client=redis_client, key_prefix=app.config["SESSION_KEY_PREFIX"], use_signer=False, permanent=True,
        sid_length=32, serialization_format="msgpack")


def new_session_id() -> None:
    """A stored session gets a new id; the record under the old one is deleted."""
    interface = current_app.session_interface
    assert isinstance(interface, PortalSessionInterface)  # init_sessions installs it on every app
    interface.regenerate(session)


def start_signed_in_session(lang: str | None) -> None:
    """Called at sign-in, before ``login_user``: a new session id, nothing of the old session kept but
    the chosen language, and the time the absolute limit counts from."""
    new_session_id()
    session.clear()
    if lang:
        session["lang"] = lang
    session[SIGNED_IN_AT] = int(utcnow().timestamp())


def past_absolute_limit(max_hours: int) -> bool:
    """True when the signed-in session began more than ``max_hours`` ago (or carries no start)."""
    started = session.get(SIGNED_IN_AT)
    if not isinstance(started, int):
        return True
    return utcnow().timestamp() - started > max_hours * 3600
