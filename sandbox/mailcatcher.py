"""``python -m sandbox.mailcatcher``: a local SMTP server that keeps every mail it receives, and a
small web page showing them: the demo's inbox (scripts/run starts it and points SMTP_URL at it), and
the real SMTP server of the tests (tests/support/mail.py).

    python -m sandbox.mailcatcher [--host 127.0.0.1] [--smtp-port 8025] [--http-port 8026] [--db PATH]

Environment fallbacks: MAILCATCHER_HOST, MAILCATCHER_SMTP_PORT, MAILCATCHER_HTTP_PORT, MAILCATCHER_DB
(a SQLite file, created; default ``instance/mail.db``). Port 0 picks a free port. Once both listen it
prints exactly one line to stdout: ``mail catcher listening on smtp://HOST:PORT, inbox http://HOST:PORT``.
SIGTERM / SIGINT stop it.

The page: ``/`` the inbox (newest first), ``/messages/<id>`` one mail (headers and text, escaped);
``/api/messages`` the same as JSON (``?to=`` one recipient's), ``POST /api/clear`` empties it.
Nothing is relayed anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import html
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.smtp import SMTP

log = logging.getLogger("sandbox.mailcatcher")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    mail_from TEXT NOT NULL,
    rcpt_tos TEXT NOT NULL,
    raw BLOB NOT NULL
)
"""


class MailStore:
    """The received mails, in a SQLite file (one connection, behind a lock: SMTP and HTTP threads)."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(_SCHEMA)
            self._db.commit()

    def add(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> int:
        with self._lock:
            cur = self._db.execute("INSERT INTO mails (received_at, mail_from, rcpt_tos, raw) VALUES (?, ?, ?, ?)",
                                   (time.time(), mail_from, json.dumps(rcpt_tos), raw))
            self._db.commit()
            return int(cur.lastrowid or 0)

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM mails")
            self._db.commit()

    def messages(self, to: str | None = None, limit: int = 200) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT id, received_at, mail_from, rcpt_tos, raw FROM mails ORDER BY id DESC "
                                    "LIMIT ?", (limit,)).fetchall()
        found = [_describe(*row) for row in rows]
        return [m for m in found if to is None or to.lower() in (r.lower() for r in m["rcptTos"])]

    def message(self, mail_id: int) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT id, received_at, mail_from, rcpt_tos, raw FROM mails WHERE id = ?",
                                   (mail_id,)).fetchone()
        return _describe(*row) if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _describe(mail_id: int, received_at: float, mail_from: str, rcpt_tos: str, raw: bytes) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
    body = part.get_content() if part is not None else ""
    return {"id": mail_id, "receivedAt": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(received_at)),
            "mailFrom": mail_from, "rcptTos": json.loads(rcpt_tos), "subject": str(msg.get("Subject", "")),
            "from": str(msg.get("From", "")), "to": str(msg.get("To", "")),
            "messageId": str(msg.get("Message-ID", "")), "body": body,
            "headers": [(k, str(v)) for k, v in msg.items()]}


class _Handler:
    """aiosmtpd's handler: every mail accepted and stored."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server, session, envelope) -> str:
        mail_id = self.store.add(envelope.mail_from or "", list(envelope.rcpt_tos),
                                 envelope.original_content or envelope.content or b"")
        log.info("mail %d from %s to %s", mail_id, envelope.mail_from, ", ".join(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


# --- the web page ----------------------------------------------------------------------------------

_STYLE = ("body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;"
          "width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}pre{white-space:pre-wrap;"
          "background:#f6f6f6;padding:1rem}")


def _page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{body}</body></html>").encode()


class _Web(BaseHTTPRequestHandler):
    server_version = "mailcatcher"

    @property
    def store(self) -> MailStore:
        return self.server.store  # type: ignore[attr-defined]

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        if url.path == "/api/messages":
            to = parse_qs(url.query).get("to", [None])[0]
            self._send(200, json.dumps(self.store.messages(to), ensure_ascii=False).encode(), "application/json")
        elif url.path == "/":
            rows = "".join(
                f"<tr data-testid='mail-row' data-id='{m['id']}'><td>{html.escape(m['receivedAt'])}</td>"
                f"<td>{html.escape(m['to'])}</td><td><a href='/messages/{m['id']}'>{html.escape(m['subject'])}</a>"
                "</td></tr>" for m in self.store.messages())
            self._send(200, _page("Mail catcher", "<h1>Mail catcher: every mail the portal sent</h1>"
                                  "<p>Nothing here leaves this machine. Newest first.</p>"
                                  "<table><tr><th>Received</th><th>To</th><th>Subject</th></tr>"
                                  f"{rows or '<tr><td colspan=3>No mail yet.</td></tr>'}</table>"))
        elif url.path.startswith("/messages/") and url.path[len("/messages/"):].isdigit():
            m = self.store.message(int(url.path[len("/messages/"):]))
            if m is None:
                self._send(404, _page("Not found", "<p>No such mail. <a href='/'>Inbox</a></p>"))
                return
            headers = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in m["headers"])
            body = html.escape(m["body"])
            self._send(200, _page(m["subject"], f"<p><a href='/'>Inbox</a></p><h1>{html.escape(m['subject'])}</h1>"
                                  f"<table>{headers}</table><pre data-testid='mail-body'>{body}</pre>"))
        elif url.path == "/healthz":
            self._send(200, b'{"code":"OK","service":"mailcatcher"}', "application/json")
        else:
            self._send(404, _page("Not found", "<p>Not found. <a href='/'>Inbox</a></p>"))

    def do_POST(self) -> None:  # noqa: N802
        if urlsplit(self.path).path == "/api/clear":
            self.store.clear()
            self._send(200, b'{"code":"OK"}', "application/json")
        else:
            self._send(404, b'{"code":"NOT_FOUND"}', "application/json")

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        log.debug("%s " + format, self.address_string(), *args)


# --- the process -----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    env = os.environ
    p = argparse.ArgumentParser(prog="python -m sandbox.mailcatcher", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default=env.get("MAILCATCHER_HOST", "127.0.0.1"))
    p.add_argument("--smtp-port", type=int, default=int(env.get("MAILCATCHER_SMTP_PORT", "8025")))
    p.add_argument("--http-port", type=int, default=int(env.get("MAILCATCHER_HTTP_PORT", "8026")))
    p.add_argument("--db", default=env.get("MAILCATCHER_DB", "instance/mail.db"), help="sqlite file (created)")
    p.add_argument("--log-level", default=env.get("MAILCATCHER_LOG_LEVEL", "WARNING"))
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command chatter

    store = MailStore(args.db)
    web = ThreadingHTTPServer((args.host, args.http_port), _Web)
    web.daemon_threads = True
    web.store = store  # type: ignore[attr-defined]
    threading.Thread(target=web.serve_forever, kwargs={"poll_interval": 0.2}, name="mailcatcher-http",
                     daemon=True).start()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = _Handler(store)
    smtp = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="mailcatcher.local", enable_SMTPUTF8=True), args.host, args.smtp_port))
    smtp_port = smtp.sockets[0].getsockname()[1]
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    print(f"mail catcher listening on smtp://{args.host}:{smtp_port}, inbox http://{args.host}:{web.server_port}",
          flush=True)
    try:
        loop.run_forever()
    finally:
        smtp.close()
        try:  # an open client connection would hold wait_closed (Python >= 3.12) forever
            loop.run_until_complete(asyncio.wait_for(smtp.wait_closed(), 2))
        except TimeoutError:
            pass
        loop.close()
        web.shutdown()
        web.server_close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
