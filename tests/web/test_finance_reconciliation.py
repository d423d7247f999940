"""/finance/reconciliation through the test client with CSRF on: the runs per day and channel with the
UI.md hooks, the differences with their filters, and resolving one: a note is required (the error
next to the field in zh and en, nothing stored), the resolution keeps who, when and why and is
audited, a second resolve changes nothing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, ReconciliationException, ReconciliationRun
from tests.support.screen_setup import add_channel, count, in_app, post, recon_exception
from tests.support.web import csrf_token

URL = "/finance/reconciliation"


@pytest.fixture
def desk(portal, signed_in):
    add_channel("WALLET", "WALLET")
    exc_id = recon_exception()
    client = signed_in("finance@example.com")
    return client, csrf_token(client, URL), exc_id


@in_app
def _exception(exc_id: int) -> ReconciliationException:
    row = db.session.get(ReconciliationException, exc_id)
    db.session.expunge(row)
    return row


@in_app
def _open_on_the_run() -> int:
    return db.session.scalar(sa.select(ReconciliationRun.exception_count))


def _stored() -> tuple:
    return (count(AuditEntry), _open_on_the_run(),
            count(ReconciliationException, ReconciliationException.state == "OPEN"))


def test_runs_and_differences_carry_their_hooks(desk):
    client, _, exc_id = desk
    body = client.get(URL + "?lang=en").get_data(as_text=True)
    assert re.findall(r'data-testid="recon-run-row" data-day="([^"]+)" data-channel="([^"]+)" data-state="([^"]+)"',
                      body) == [("2026-03-12", "WALLET", "COMPLETED")]
    rows = re.findall(r'data-testid="recon-exception-row" data-class="([^"]+)" data-state="([^"]+)"', body)
    assert rows == [("MISSING_IN_SYSTEM", "OPEN")]
    assert 'data-testid="recon-resolve"' in body and "Missing in our system" in body
    zh = client.get(URL + "?lang=zh").get_data(as_text=True)
    assert "我方漏单" in zh and "对账" in zh
    assert "recon-exception-row" not in client.get(URL + "?state=RESOLVED").get_data(as_text=True)
    assert "recon-exception-row" not in client.get(URL + "?class=DUPLICATE&state=all").get_data(as_text=True)
    assert "recon-exception-row" in client.get(URL + "?day=2026-03-12&class=MISSING_IN_SYSTEM").get_data(as_text=True)
    bad = client.get(URL + "?day=2026-13-01&lang=en")
    assert bad.status_code == 422 and "Enter a date like 2026-11-30." in bad.get_data(as_text=True)


@pytest.mark.parametrize("note, zh, en", [
    ("", "请说明该差异的处理原因", "Say why the difference is resolved"),
    ("   ", "请说明该差异的处理原因", "Say why the difference is resolved"),
    ("x" * 501, "不能超过 500 个字符", "under 500 characters"),
])
def test_a_resolve_without_a_usable_note_shows_the_error_and_stores_nothing(desk, note, zh, en):
    client, token, exc_id = desk
    before = _stored()
    for lang, text in (("zh", zh), ("en", en)):
        response = post(client, f"{URL}/exceptions/{exc_id}/resolve", {"note": note}, token, lang=lang)
        assert response.status_code == 422
        field = re.search(rf'id="note-{exc_id}".*?</div>', response.get_data(as_text=True), re.S).group(0)
        assert text in field, lang
    assert _stored() == before and _exception(exc_id).state == "OPEN"


def test_resolving_keeps_who_when_and_why_and_happens_once(desk):
    client, token, exc_id = desk
    audits = _stored()[0]
    response = post(client, f"{URL}/exceptions/{exc_id}/resolve?state=all", {"note": "bank confirmed a test line",
                                                                              "back": URL + "?state=all"}, token)
    assert response.status_code == 302 and response.headers["Location"].endswith(URL + "?state=all")
    exc = _exception(exc_id)
    assert (exc.state, exc.resolution_note) == ("RESOLVED", "bank confirmed a test line")
    assert exc.resolved_by.startswith("user:") and exc.resolved_at is not None
    assert _stored() == (audits + 1, 0, 0)
    page = client.get(URL + "?state=all&lang=en").get_data(as_text=True)
    assert 'data-state="RESOLVED"' in page and "bank confirmed a test line" in page
    again = post(client, f"{URL}/exceptions/{exc_id}/resolve", {"note": "twice"}, token, lang="en")
    assert again.status_code == 409 and "already resolved" in again.get_data(as_text=True)
    assert _exception(exc_id).resolution_note == "bank confirmed a test line" and _stored()[0] == audits + 1


def test_resolving_needs_the_csrf_token_and_finance(desk, signed_in):
    client, _, exc_id = desk
    assert client.post(f"{URL}/exceptions/{exc_id}/resolve", data={"note": "x"}).status_code == 400
    operator = signed_in("operator@r1001.example")
    assert operator.get(URL).status_code in (403, 404)
    assert _exception(exc_id).state == "OPEN"
