"""Reconciliation of an ONLINE channel's day against the real sandbox gateway (docs/DOMAIN.md §8):
each class made on purpose by the gateway's statement knobs, the statement fetched by the job's
function through the channel adapter, idempotent re-import, a corrected statement superseding, and
a channel SUCCESS settling our PROCESSING payment through the settlement path."""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from app.channels.base import StatementNotReady
from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.jobs import reconciliation as recon_jobs
from app.models import (
    AuditEntry,
    Channel,
    ChannelPayment,
    OutboxEvent,
    ReconciliationException,
    ReconciliationRun,
    StatementImport,
)
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.platform.queues import AppCronScheduler, queue, redis_connection
from app.services.reconciliation import ledger_statement, online_fetch
from sandbox.testing import wait_until
from tests.support.alerts import alerts_of
from tests.support.engine import OPERATOR, check_invariants, checkout_online, detached, make_order, order
from worker import build_worker


def _cp(cp_id):
    db.session.expire_all()
    return detached(db.session.get(ChannelPayment, cp_id))


def _final(cp_id):
    return _cp(cp_id).status in ("SUCCESS", "FAILED", "EXPIRED", "CANCELLED")


def _channel_id(code="ONLINE_UNIONPAY") -> int:
    cid = db.session.scalar(sa.select(Channel.id).where(Channel.code == code))
    db.session.rollback()
    return cid


def _run(code="ONLINE_UNIONPAY"):
    db.session.expire_all()
    run = db.session.scalar(sa.select(ReconciliationRun).where(ReconciliationRun.channel_code == code,
                                                               ReconciliationRun.day == shanghai_today()))
    return detached(run)


def _exceptions(state=None):
    db.session.expire_all()
    q = sa.select(ReconciliationException).order_by(ReconciliationException.id)
    if state:
        q = q.where(ReconciliationException.state == state)
    rows = list(db.session.scalars(q))
    db.session.rollback()
    return rows


def _events(event_type):
    rows = list(db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == event_type)
                                   .order_by(OutboxEvent.id)))
    db.session.rollback()
    return rows


@pytest.fixture
def today_published(online):
    """Today's statement is published at once (the knob's negative delay), so the test needs no midnight."""
    online.set_faults(statement_delay_ms=-86_400_000)
    return online


def _paid(online, engine_setup, amounts=("300.00", "700.00"), status="SUCCESS"):
    pids, res, cp = checkout_online(engine_setup, amounts)
    online.complete_payment(cp.channel_transaction_id, status)
    wait_until(lambda: _final(cp.id))
    return pids, cp


def _reconcile():
    return online_fetch.fetch_and_reconcile(_channel_id(), shanghai_today())


def _classes(run):
    return {k: v["count"] for k, v in run.figures.items() if isinstance(v, dict) and v["count"]}


def test_a_clean_day_is_all_matched_and_says_so(today_published, engine_setup):
    _paid(today_published, engine_setup)
    _paid(today_published, engine_setup, ("50.00",), status="FAILED")
    assert _reconcile() == {"imported": True, "reconciled": True, "lines": 2}
    run = _run()
    assert run.state == "COMPLETED" and _classes(run) == {"MATCHED": 2} and run.exception_count == 0
    assert run.figures["MATCHED"]["amount"] == "1050.00"
    done = _events("reconciliation.completed")
    assert len(done) == 1 and done[0].payload["classes"]["MATCHED"]["count"] == 2
    assert _events("reconciliation.exceptions_found") == []
    check_invariants()


def test_the_same_statement_twice_changes_nothing(today_published, engine_setup):
    _paid(today_published, engine_setup)
    _reconcile()
    before = (_run().attempt, len(_events("reconciliation.completed")))
    assert _reconcile() == {"imported": False, "reconciled": False, "lines": 1}
    assert (_run().attempt, len(_events("reconciliation.completed"))) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatementImport)) == 1


def test_a_dropped_line_is_missing_in_channel_and_a_corrected_statement_supersedes(today_published,
                                                                                    engine_setup):
    _paid(today_published, engine_setup)
    today_published.set_faults(statement_drop_rate=1.0)
    _reconcile()
    run = _run()
    assert _classes(run) == {"MISSING_IN_CHANNEL": 1} and run.exception_count == 1
    [exc] = _exceptions()
    assert exc.exception_class == "MISSING_IN_CHANNEL" and exc.state == "OPEN" and exc.our_amount == Decimal("1000.00")
    assert len(_events("reconciliation.exceptions_found")) == 1
    [(subject, state, count)] = alerts_of("reconciliation_exceptions")
    assert state == "OPEN" and count == 1 and subject.endswith("/ONLINE_UNIONPAY")

    today_published.set_faults(statement_drop_rate=0.0)  # the bank sends the corrected statement
    assert _reconcile()["imported"] is True
    run = _run()
    assert _classes(run) == {"MATCHED": 1} and run.exception_count == 0 and run.attempt == 2
    [exc] = _exceptions()  # kept, resolved by the system with the reason
    assert exc.state == "RESOLVED" and exc.resolved_by == "system:reconciliation" and exc.resolution_note
    assert alerts_of("reconciliation_exceptions") == [(subject, "RESOLVED", 1)]  # the corrected run cleared it
    imports = db.session.execute(sa.select(StatementImport.is_current, StatementImport.superseded_at.is_not(None))
                                 .order_by(StatementImport.id)).all()
    assert imports == [(False, True), (True, False)]
    db.session.rollback()


def test_a_superseded_statement_published_again_is_current_again(today_published, engine_setup):
    _paid(today_published, engine_setup)
    _reconcile()  # A: honest
    today_published.set_faults(statement_drop_rate=1.0)
    _reconcile()  # B: the line dropped
    assert _classes(_run()) == {"MISSING_IN_CHANNEL": 1}
    today_published.set_faults(statement_drop_rate=0.0)
    assert _reconcile() == {"imported": False, "reconciled": True, "lines": 1}  # A again
    run = _run()
    assert _classes(run) == {"MATCHED": 1} and run.attempt == 3 and run.exception_count == 0
    current = db.session.execute(sa.select(StatementImport.id).where(StatementImport.is_current.is_(True))).all()
    assert [(run.import_id,)] == current
    db.session.rollback()


def test_an_amount_changed_by_the_channel_is_an_amount_mismatch(today_published, engine_setup):
    pids, cp = _paid(today_published, engine_setup)
    today_published.set_faults(statement_amount_change_rate=1.0)
    _reconcile()
    assert _classes(_run()) == {"AMOUNT_MISMATCH": 1}
    [exc] = _exceptions()
    assert (exc.channel_amount, exc.our_amount, exc.channel_payment_id) == (Decimal("1001.00"), Decimal("1000.00"),
                                                                           cp.id)
    assert [order(p).payment_status for p in pids] == ["PAID", "PAID"]  # nothing moved
    check_invariants()


def test_a_duplicated_line_is_a_duplicate(today_published, engine_setup):
    _paid(today_published, engine_setup)
    today_published.set_faults(statement_duplicate_rate=1.0)
    _reconcile()
    assert _classes(_run()) == {"MATCHED": 1, "DUPLICATE": 1}
    [exc] = _exceptions()
    assert exc.exception_class == "DUPLICATE" and exc.match_key.endswith("#1")


def test_a_success_we_never_heard_of_is_missing_in_system(today_published, engine_setup):
    today_published.set_faults(statement_unknown_success=1)
    _reconcile()
    assert _classes(_run()) == {"MISSING_IN_SYSTEM": 1}
    [exc] = _exceptions()
    assert exc.reference.startswith("CPX") and exc.channel_amount == Decimal("88.00") and exc.our_amount is None


def test_a_success_for_a_payment_we_hold_failed_is_a_status_mismatch(today_published, engine_setup):
    pids, cp = _paid(today_published, engine_setup, status="FAILED")
    today_published.set_faults(statement_failed_as_success_rate=1.0)
    _reconcile()
    assert _classes(_run()) == {"STATUS_MISMATCH": 1}
    [exc] = _exceptions()
    assert (exc.channel_status, exc.our_status) == ("SUCCESS", "FAILED")
    assert [order(p).payment_status for p in pids] == ["FAILED", "FAILED"]  # never settled by itself
    check_invariants()


def test_a_channel_success_we_hold_processing_is_settled_through_the_settlement_path(today_published,
                                                                                      engine_setup):
    today_published.set_faults(drop_rate=1.0)  # the callback never arrives
    pids, res, cp = checkout_online(engine_setup)
    today_published.complete_payment(cp.channel_transaction_id, "SUCCESS")
    time.sleep(0.2)
    assert _cp(cp.id).status == "PROCESSING"
    _reconcile()
    run = _run()
    assert _classes(run) == {"MATCHED": 1} and run.figures["settled"] == 1
    assert _cp(cp.id).status == "SUCCESS"
    assert [order(p).payment_status for p in pids] == ["PAID", "PAID"]
    assert len(_events("transaction.succeeded")) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "channel_payment.success", AuditEntry.actor_id == "reconciliation")) == 1
    db.session.rollback()
    check_invariants()


def test_a_statement_not_published_yet_is_retried_and_alerts_when_overdue(today_published, engine_setup, app):
    today_published.set_faults(statement_delay_ms=0)
    with pytest.raises(StatementNotReady):
        recon_jobs.reconcile_online_statement(_channel_id(), shanghai_today().isoformat())
    assert _events("alert.raised") == []  # not overdue: today has not even closed
    app.config["RECON_STATEMENT_ALERT_HOURS"] = -48
    try:
        with pytest.raises(StatementNotReady):
            recon_jobs.reconcile_online_statement(_channel_id(), shanghai_today().isoformat())
    finally:
        app.config["RECON_STATEMENT_ALERT_HOURS"] = 6
    [alert] = _events("alert.raised")
    assert alert.payload["kind"] == "statement_missing"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatementImport)) == 0


def test_wallet_and_credit_ledgers_match_their_payments(online, engine_setup):
    for channel in ("WALLET", "CREDIT"):
        pid = make_order(amount="400.00")
        checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, "400.00", channel)])
    day = shanghai_today()
    for cid in ledger_statement.internal_channel_ids():
        assert ledger_statement.reconcile_ledger(cid, day)["reconciled"] is True
        assert ledger_statement.reconcile_ledger(cid, day)["reconciled"] is False  # nothing new
    for code in ("WALLET", "CREDIT"):
        assert _classes(_run(code)) == {"MATCHED": 1}, code
    assert _exceptions() == []
    check_invariants()


@pytest.fixture
def low_queue(app, ctx):
    """The app's ``low`` queue (test prefix), empty before and after."""
    assert app.config["RQ_QUEUE_PREFIX"].startswith("test-")
    q = queue("low")
    q.empty()
    for registry in (q.scheduled_job_registry, q.failed_job_registry, q.finished_job_registry):
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield q
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    q.empty()


def test_the_hourly_job_reconciles_yesterday_through_the_worker(today_published, engine_setup, low_queue, app,
                                                                monkeypatch):
    monkeypatch.setenv("RQ_QUEUE_PREFIX", app.config["RQ_QUEUE_PREFIX"])
    scheduler = AppCronScheduler(connection=redis_connection())
    scheduler.load_config_from_file("app.jobs.cron")
    entry = {e.func_name: e for e in scheduler.get_jobs()}["app.jobs.reconciliation.reconcile_yesterday"]
    assert entry.cron == "41 * * * *" and entry.queue_name == low_queue.name

    today_published.set_faults(statement_delay_ms=0)  # yesterday has closed: published
    job = low_queue.enqueue("app.jobs.reconciliation.reconcile_yesterday")
    assert build_worker(["low"]).work(burst=True) is True  # runs it, then the statement job it enqueued
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    yesterday = shanghai_today() - timedelta(days=1)
    runs = {(r.channel_code, r.state) for r in db.session.scalars(
        sa.select(ReconciliationRun).where(ReconciliationRun.day == yesterday))}
    db.session.rollback()
    assert runs == {("ONLINE_UNIONPAY", "COMPLETED"), ("WALLET", "COMPLETED"), ("CREDIT", "COMPLETED")}


def test_a_statement_not_published_is_retried_with_backoff_by_rq(today_published, engine_setup, low_queue):
    today_published.set_faults(statement_delay_ms=400 * 86_400_000)
    recon_jobs.reconcile_yesterday()
    [job_id] = low_queue.job_ids
    build_worker(["low"]).work(burst=True)
    job = Job.fetch(job_id, connection=redis_connection(), serializer=JSONSerializer)
    assert job.get_status() == JobStatus.SCHEDULED  # failed with StatementNotReady, retried later
    assert job.retries_left == len(recon_jobs.STATEMENT_RETRY.intervals) - 1
    assert low_queue.scheduled_job_registry.get_job_ids() == [job_id]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatementImport).where(
        StatementImport.channel_code == "ONLINE_UNIONPAY")) == 0
    db.session.rollback()


def test_the_cli_reconciles_a_day_now(today_published, engine_setup, app):
    _paid(today_published, engine_setup)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reconciliation", "run", shanghai_today().isoformat()])
    assert result.exit_code == 0, result.output
    assert result.output.count("'reconciled': True") == 3  # ONLINE, WALLET, CREDIT
    assert _classes(_run()) == {"MATCHED": 1}
    again = runner.invoke(args=["reconciliation", "run", shanghai_today().isoformat()])
    assert again.output.count("'reconciled': False") == 3
    today_published.set_faults(statement_delay_ms=0)
    late = runner.invoke(args=["reconciliation", "run", (shanghai_today() + timedelta(days=1)).isoformat()])
    assert late.exit_code == 0 and "not published yet" in late.output
    bad = runner.invoke(args=["reconciliation", "run", "2026-13-01"])
    assert bad.exit_code == 2 and "yyyy-mm-dd" in bad.output


def test_a_day_asked_for_now_shows_how_far_its_run_has_got(today_published, engine_setup, low_queue):
    """QUEUED from the request, WAITING while the statement is not published (RQ retries), then DONE
    with the counts: the statement's lines and what the run settled of what it had to settle."""
    from app.services.platform.actor import Actor
    from app.services.reconciliation import on_demand

    today_published.set_faults(drop_rate=1.0)  # the callback never arrives: the run settles it
    _pids, _res, cp = checkout_online(engine_setup)
    today_published.complete_payment(cp.channel_transaction_id, "SUCCESS")
    today_published.set_faults(statement_delay_ms=0)  # today's statement: not before midnight
    finance = Actor(type="user", id="finance@example.com")
    assert sorted(on_demand.request_day(finance, shanghai_today())) == ["CREDIT", "ONLINE_UNIONPAY", "WALLET"]
    assert _run().progress["stage"] == "QUEUED" and _run().state == "RUNNING"  # never computed before
    assert on_demand.request_day(finance, shanghai_today()) == []  # already queued: nothing more
    assert build_worker(["low"]).work(burst=True) is True
    assert _run().progress["stage"] == "WAITING" and low_queue.scheduled_job_registry.count == 1
    assert _run("WALLET").progress["stage"] == "DONE"
    with pytest.raises(StatementNotReady):  # run with no retry left (here: not by RQ): the run has FAILED
        recon_jobs.reconcile_online_statement(_channel_id(), shanghai_today().isoformat())
    assert _run().progress["stage"] == "FAILED" and _run().progress["error"].startswith("StatementNotReady")

    today_published.set_faults(statement_delay_ms=-86_400_000)
    recon_jobs.reconcile_online_statement(_channel_id(), shanghai_today().isoformat())  # the retry, now
    run = _run()
    assert (run.state, run.progress["stage"]) == ("COMPLETED", "DONE")
    assert {k: run.progress[k] for k in ("lines", "toSettle", "settled", "classified")} == {
        "lines": 1, "toSettle": 1, "settled": 1, "classified": 1}
    assert _cp(cp.id).status == "SUCCESS"
    with pytest.raises(Exception, match="not come yet"):
        on_demand.request_day(finance, shanghai_today() + timedelta(days=1))
    check_invariants()
