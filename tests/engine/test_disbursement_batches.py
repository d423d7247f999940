"""Disbursement batches (批量付款, docs/DOMAIN.md §9) through the services, against the real sandbox gateway
(payouts from M1001: single 50,000.00, daily 100,000.00): a batch approved by a second finance user pays
each row once; running it again (a retried job, two jobs at once) pays nothing twice; the merchant's
daily limit refuses the rows beyond it; the batch completes with its last payout (synchronous answer,
callback or finance's MANUAL settlement) and emits ``disbursement_batch.completed`` once; failed rows go
again as a new batch. Two approvals at once decide once and queue one run (PostgreSQL with
TEST_DATABASE_URL; SQLite otherwise)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AuditEntry, Disbursement, DisbursementBatch, DisbursementBatchRow
from app.models.types import now_utc
from app.services.payouts import batch_dispatch, batch_progress, batch_run, batches
from app.services.payouts import manual as payout_manual
from app.services.payouts import polling as payout_polling
from app.services.platform.actor import Actor
from app.services.platform.queues import queue
from sandbox.testing import wait_until
from tests.support.batch_files import csv_bytes, payees
from tests.support.factories import add_user
from tests.support.refunds import count, events


@pytest.fixture
def desk(app, wire, engine_setup):
    """Three finance users: the uploader and two who may approve; the low queue emptied."""
    users = {"maker": engine_setup["users"]["fin"], "checker": add_user("fin2@example.com", "finance"),
             "checker2": add_user("fin3@example.com", "finance")}
    db.session.commit()
    queue(batch_dispatch.QUEUE).empty()
    return users


def actor(uid: int) -> Actor:
    return Actor(type="user", id=str(uid))


def pending_batch(users, rows) -> str:
    preview = batches.upload(actor(users["maker"]), users["maker"], "M1001", "payees.csv", csv_bytes(rows))
    batches.submit(actor(users["maker"]), users["maker"], preview.batch_no)
    return preview.batch_no


def approved_batch(users, rows) -> str:
    number = pending_batch(users, rows)
    batches.approve(actor(users["checker"]), users["checker"], number)
    return number


def status(number: str) -> str:
    s = db.session.scalar(sa.select(DisbursementBatch.status).where(DisbursementBatch.batch_no == number))
    db.session.rollback()
    return s


def progress(number: str) -> batch_progress.Progress:
    batch_id = db.session.scalar(sa.select(DisbursementBatch.id).where(DisbursementBatch.batch_no == number))
    p = batch_progress.progress(batch_id)
    # The quick question each finishing payout asks agrees with the full read, in every state a test reaches.
    assert batch_progress.has_open_rows(batch_id) == (not p.complete), p
    db.session.rollback()
    return p


def batch_payouts(number: str) -> list[Disbursement]:
    rows = list(db.session.scalars(sa.select(Disbursement).where(Disbursement.request_id.like(f"batch:{number}:%"))
                                   .order_by(Disbursement.id)))
    db.session.rollback()
    return rows


def test_an_approved_batch_is_queued_on_low_and_pays_each_row_once(desk, wire):
    number = approved_batch(desk, payees(5, "1200.00"))
    assert status(number) == "RUNNING"
    assert queue("low").job_ids == [batch_dispatch.job_id(number)]  # the low queue: never before callbacks
    assert batch_run.run(number) == {"sent": 5, "skipped": 0}
    assert status(number) == "COMPLETED"
    payouts = batch_payouts(number)
    assert [p.request_id for p in payouts] == [f"batch:{number}:{i}" for i in range(1, 6)]
    assert {p.status for p in payouts} == {"SUCCESS"} and {p.source for p in payouts} == {"BATCH"}
    p = progress(number)
    assert (p.counts["SUCCESS"], p.counts["FAILED"], p.amounts["SUCCESS"]) == (5, 0, Decimal("6000.00"))
    (event,) = events("disbursement_batch.completed")
    assert event["batchNo"] == number and (event["succeeded"], event["failed"], event["total"]) == (5, 0, 5)
    assert event["succeededAmount"] == "6000.00" and event["merchantId"] == "M1001"
    # the job again (a retry): nothing more is paid, no second event
    assert batch_run.run(number) == {"sent": 0, "skipped": 1}
    assert wire.stats()["payouts"] == 5 and count(Disbursement) == 5
    assert len(events("disbursement_batch.completed")) == 1
    assert count(AuditEntry, AuditEntry.action == "disbursement_batch.complete") == 1


def test_a_run_that_died_midway_is_resumed_without_paying_anything_twice(desk, wire):
    number = approved_batch(desk, payees(4))
    # the first run made row 1's payout and died before linking it to the row
    row = db.session.scalar(sa.select(DisbursementBatchRow)
                            .where(DisbursementBatchRow.request_id == f"batch:{number}:1"))
    order_no = batch_run._make_payout(row.id, "M1001", number)
    assert order_no is not None
    db.session.execute(sa.update(DisbursementBatchRow).where(DisbursementBatchRow.id == row.id).values(order_no=None))
    db.session.commit()
    assert batch_run.run(number)["sent"] == 3  # row 1 is linked to its payout, not made again
    assert count(Disbursement) == 4
    stuck = [p for p in batch_payouts(number) if p.status == "INIT"]
    assert [p.order_no for p in stuck] == [order_no]  # the poller sends an INIT payout whose call never went
    payout_polling.poll_due(now=now_utc() + timedelta(minutes=5))
    assert status(number) == "COMPLETED" and wire.stats()["payouts"] == 4


def test_two_runs_at_once_pay_each_row_once(app, desk, wire):
    number = approved_batch(desk, payees(12))
    barrier = threading.Barrier(2)

    def one(_):
        with app.app_context():
            barrier.wait()
            try:
                return batch_run.run(number)["sent"]
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        sent = list(pool.map(one, range(2)))
    assert sum(sent) == 12, sent
    assert count(Disbursement) == 12
    paid = wire.stats()["payouts_by_merchant_payout_no"]
    assert len(paid) == 12 and set(paid.values()) == {1}
    assert status(number) == "COMPLETED" and len(events("disbursement_batch.completed")) == 1


def test_two_approvals_at_once_decide_once_and_queue_one_run(app, desk):
    number = pending_batch(desk, payees(3))
    barrier = threading.Barrier(2)

    def one(uid):
        with app.app_context():
            barrier.wait()
            try:
                batches.approve(actor(uid), uid, number)
                return "approved"
            except DomainError as exc:
                return type(exc).__name__
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(one, (desk["checker"], desk["checker2"])))
    assert results == ["StateConflict", "approved"], results
    assert status(number) == "RUNNING"
    assert count(AuditEntry, AuditEntry.action == "disbursement_batch.approve") == 1
    assert queue("low").job_ids == [batch_dispatch.job_id(number)]


def test_the_uploader_may_not_decide(desk):
    number = pending_batch(desk, payees(2))
    for decide in (lambda: batches.approve(actor(desk["maker"]), desk["maker"], number),
                   lambda: batches.reject(actor(desk["maker"]), desk["maker"], number, "no")):
        with pytest.raises(batches.SameUser):
            decide()
    assert status(number) == "PENDING" and queue("low").count == 0


def test_the_daily_limit_refuses_the_rows_beyond_it_and_they_go_again_as_a_new_batch(desk, wire):
    rows = payees(3, "40000.00")  # 120,000 against a daily limit of 100,000
    number = approved_batch(desk, rows)
    batch_run.run(number)
    assert status(number) == "COMPLETED"
    p = progress(number)
    assert (p.counts["SUCCESS"], p.counts["FAILED"]) == (2, 1)
    assert p.amounts["FAILED"] == Decimal("40000.00") and count(Disbursement) == 2
    (event,) = events("disbursement_batch.completed")
    assert (event["succeeded"], event["failed"], event["failedAmount"]) == (2, 1, "40000.00")
    again = batches.resubmit_failed(actor(desk["maker"]), desk["maker"], number)
    assert (again.count, again.total) == (1, Decimal("40000.00")) and status(again.batch_no) == "DRAFT"


def test_asynchronous_payouts_complete_the_batch_by_callback(desk, wire):
    # The bank answers each payout later by callback: 1.5 s, so that on a loaded machine the three
    # sends are over before the first answer comes (200 ms was not, once, on CI).
    wire.set_faults(payout_outcome="async_fail", payout_delay_ms=1500)
    number = approved_batch(desk, payees(3))
    batch_run.run(number)
    assert status(number) == "RUNNING" and progress(number).in_flight == 3
    wait_until(lambda: status(number) == "COMPLETED", timeout=15)
    p = progress(number)
    assert (p.counts["FAILED"], p.amounts["FAILED"]) == (3, Decimal("300.00"))
    assert len(events("disbursement_batch.completed")) == 1


def test_a_manual_payout_keeps_the_batch_open_until_finance_settles_it(desk, wire):
    wire.set_faults(payout_outcome="processing_forever")
    number = approved_batch(desk, payees(2))
    batch_run.run(number)
    now = now_utc()
    for i in range(1, payout_polling.MAX_POLL_ATTEMPTS + 2):
        payout_polling.poll_due(now=now + timedelta(hours=i))
    p = progress(number)
    assert p.counts["MANUAL"] == 2 and status(number) == "RUNNING"
    first, second = batch_payouts(number)
    payout_manual.settle_manual(actor(desk["checker"]), "finance", first.order_no, "SUCCESS", bank_serial_no="BS1")
    assert status(number) == "RUNNING"
    payout_manual.settle_manual(actor(desk["checker"]), "finance", second.order_no, "FAILED", reason="退回")
    assert status(number) == "COMPLETED"
    p = progress(number)
    assert (p.counts["SUCCESS"], p.counts["FAILED"], p.counts["MANUAL"]) == (1, 1, 0)
    assert len(events("disbursement_batch.completed")) == 1
