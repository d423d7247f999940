"""A real SMTP server for the tests: the demo's mail catcher (``python -m sandbox.mailcatcher``) as a
subprocess on free ports, with its inbox read over its own HTTP API. ``stop()`` and ``start()``
again (on the same ports) play an SMTP server that is down and comes back."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

_LINE = re.compile(r"smtp://([\d.]+):(\d+), inbox http://[\d.]+:(\d+)")


class MailCatcher:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.smtp_port = 0
        self.http_port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def smtp_url(self) -> str:
        return f"smtp://127.0.0.1:{self.smtp_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> MailCatcher:
        assert self.proc is None, "already running"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox.mailcatcher", "--smtp-port", str(self.smtp_port),
             "--http-port", str(self.http_port), "--db", str(self.db_path)],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = _LINE.search(line)
        if not found:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            raise RuntimeError(f"the mail catcher did not start: {line!r}")
        self.smtp_port, self.http_port = int(found.group(2)), int(found.group(3))
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def messages(self, to: str | None = None) -> list[dict]:
        """What it received (newest first), or only ``to``'s."""
        query = f"?to={urllib.parse.quote(to)}" if to else ""
        with urllib.request.urlopen(f"{self.http_url}/api/messages{query}", timeout=5) as r:
            return json.loads(r.read())

    def page(self, path: str) -> str:
        """One of its HTML pages (the inbox is ``/``)."""
        with urllib.request.urlopen(f"{self.http_url}{path}", timeout=5) as r:
            return r.read().decode()

    def clear(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.http_url}/api/clear", method="POST"), timeout=5).close()


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory) -> MailCatcher:
    """The mail catcher, started once per session (only if a test asks for it)."""
    catcher = MailCatcher(tmp_path_factory.mktemp("mail") / "mail.db").start()
    yield catcher
    catcher.stop()


@pytest.fixture
def smtp(app, mail_server, monkeypatch) -> MailCatcher:
    """The app sends its mail to a running, empty mail catcher for this test."""
    if mail_server.proc is None:
        mail_server.start()
    mail_server.clear()
    monkeypatch.setitem(app.config, "SMTP_URL", mail_server.smtp_url)
    monkeypatch.setitem(app.config, "MAIL_FROM", "Portal <noreply@portal.example>")
    return mail_server
