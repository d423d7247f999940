"""/finance/reconciliation while runs work, and a day printed as PDF: finance asks for a day's
reconciliation, the runs' table says QUEUED and asks for itself again (HTMX polling, no script),
the real worker runs the jobs, the table says DONE and stops asking; a bad or future day is refused
next to its field and queues nothing. The day's PDF, printed by the documents pipeline, carries
every figure of the day's CSV export."""

from __future__ import annotations

import csv
import io
import signal
from decimal import Decimal

import pytest

from app.models import AuditEntry, ReconciliationRun
from app.services.platform.queues import queue
from tests.support.documents import pdf_text, render_queued
from tests.support.html import dom
from tests.support.screen_setup import APP, add_channel, count, in_app, post, recon_exception
from tests.support.web import csrf_token
from worker import build_worker

URL = "/finance/reconciliation"
DAY = "2026-03-12"


@pytest.fixture
def desk(portal, signed_in):
    add_channel("WALLET", "WALLET")
    recon_exception(day=None)  # the WALLET run of 2026-03-12 with one open difference
    low = _low()
    client = signed_in("finance@example.com")
    yield client, csrf_token(client, URL)
    low.empty()


@in_app
def _low():
    q = queue("low")
    q.empty()
    return q


@in_app
def _queued_jobs() -> list[str]:
    return [job.func_name for job in queue("low").get_jobs()]


def _work() -> None:
    """The real worker (worker.build_worker) on the ``low`` queue until it is empty."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with APP["app"].app_context():
            assert build_worker(["low"]).work(burst=True) is True
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _fragment(client):
    return dom(client.get(f"{URL}/runs?day={DAY}")).one("recon-runs")


def test_a_requested_day_is_queued_polled_and_done(desk):
    client, token = desk
    box = _fragment(client)
    assert box["hx-trigger"] is None and box["data-active"] == "0"  # nothing at work: no polling
    assert box.one("recon-run-row")["data-stage"] == "DONE"

    answer = post(client, f"{URL}/runs", {"runDay": DAY}, token)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"{URL}?day={DAY}")
    assert _queued_jobs() == ["app.jobs.reconciliation.reconcile_ledger_day"]
    box = _fragment(client)
    assert (box["hx-trigger"], box["hx-get"], box["data-active"]) == ("every 2s", f"{URL}/runs?day={DAY}", "1")
    row = box.one("recon-run-row")
    assert (row["data-state"], row["data-stage"]) == ("COMPLETED", "QUEUED")  # the last computation stays shown
    page = client.get(f"{URL}?day={DAY}&lang=en").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in page and "updates by itself" in page and "<script>" not in page
    # Asked again while queued: nothing more is queued.
    post(client, f"{URL}/runs", {"runDay": DAY}, token)
    assert len(_queued_jobs()) == 1

    _work()
    box = _fragment(client)
    assert box["hx-trigger"] is None and box["data-active"] == "0"
    row = box.one("recon-run-row")
    # The WALLET ledger of that day is empty: a new "statement" of 0 lines, recomputed.
    assert (row["data-state"], row["data-stage"], row["data-lines"]) == ("COMPLETED", "DONE", "0")
    assert row.one(tag="td", **{"data-class": "MISSING_IN_SYSTEM"})["data-count"] == "0"
    # Asked again: the same ledger, so the same statement; done at once and says nothing changed.
    post(client, f"{URL}/runs", {"runDay": DAY}, token)
    _work()
    row = dom(client.get(f"{URL}/runs?day={DAY}&lang=en")).one("recon-run-row")
    assert row["data-stage"] == "DONE" and "nothing changed" in row.one("recon-run-progress").text
    assert count(AuditEntry, AuditEntry.action == "reconciliation.requested") == 2


def test_a_day_never_reconciled_gets_its_run_from_the_request(desk):
    client, token = desk
    post(client, f"{URL}/runs", {"runDay": "2026-03-13"}, token)
    row = dom(client.get(f"{URL}/runs?day=2026-03-13")).one("recon-run-row")
    assert (row["data-state"], row["data-stage"]) == ("RUNNING", "QUEUED")
    _work()
    row = dom(client.get(f"{URL}/runs?day=2026-03-13")).one("recon-run-row")
    assert (row["data-state"], row["data-stage"], row["data-lines"]) == ("COMPLETED", "DONE", "0")
    assert row.one(tag="td", **{"data-class": "MATCHED"})["data-count"] == "0"


@pytest.mark.parametrize("day, zh, en", [
    ("", "请输入要对账的日期", "Enter the day to reconcile"),
    ("2026-02-30", "请输入要对账的日期", "Enter the day to reconcile"),
    ("2999-01-01", "该日期尚未到来", "That day has not come yet"),
])
def test_a_bad_or_future_day_is_refused_and_queues_nothing(desk, day, zh, en):
    client, token = desk
    before = (count(AuditEntry), count(ReconciliationRun))
    for lang, text in (("zh", zh), ("en", en)):
        answer = post(client, f"{URL}/runs", {"runDay": day}, token, lang=lang)
        assert answer.status_code == 422
        assert text in dom(answer).one(tag="p", id="runDay-error").text, lang
    assert (count(AuditEntry), count(ReconciliationRun)) == before and _queued_jobs() == []


def test_the_day_as_pdf_carries_the_csv_figures(desk, tmp_path, signed_in):
    client, token = desk
    answer = post(client, f"{URL}/export/pdf", {"exportDay": DAY}, token)
    assert answer.status_code == 302
    row = dom(client.get(f"{URL}/documents")).one("document-row")
    assert (row["data-kind"], row["data-state"]) == ("REPORT", "QUEUED")
    assert 'hx-trigger="every 3s"' in client.get(f"{URL}/documents").get_data(as_text=True)
    assert render_queued("RECONCILIATION_DAY") == ["READY"]
    row = dom(client.get(f"{URL}/documents")).one("document-row")
    pdf = client.get(row.one("document-download")["href"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    text = pdf_text(pdf.data, tmp_path)
    assert "对账日报" in text and "Reconciliation day" in text and DAY in text
    lines = text.splitlines()
    exported = list(csv.reader(io.StringIO(client.get(f"{URL}/export?exportDay={DAY}&format=csv")
                                           .get_data(as_text=True))))[1:]
    assert {r[0] for r in exported} == {"SUMMARY", "CHANNEL", "RUN", "EXCEPTION"}
    for section, channel, _item, state, n, amount, ours, reference, *_ in exported:
        figures = [f"¥{Decimal(a):,.2f}" for a in (amount, ours) if a]
        wanted = [x for x in (channel if section != "SUMMARY" else "", state, n, *figures, reference) if x]
        assert any(all(w in line for w in wanted) for line in lines), (section, wanted)
    # The same request again: the figures have not changed, so it is the same document.
    post(client, f"{URL}/export/pdf", {"exportDay": DAY}, token)
    assert len(dom(client.get(f"{URL}/documents")).all("document-row")) == 1
    assert signed_in("operator@r1001.example").get(row.one("document-download")["href"]).status_code == 404


def test_a_pdf_of_a_day_to_come_is_refused(desk):
    client, token = desk
    answer = post(client, f"{URL}/export/pdf", {"exportDay": "2999-01-01"}, token, lang="en")
    assert answer.status_code == 422 and "That day has not come yet." in answer.get_data(as_text=True)
    assert dom(client.get(f"{URL}/documents")).all("document-row") == []

