"""Month-end must never delay payments (docs/ARCHITECTURE.md §7): with 200 statements waiting on the
``documents`` queue and two real worker processes (``python worker.py``, every queue) busy printing
them, a bank callback for an ONLINE payment settles at once (the web process answers it) and a
compensation job on ``default`` is taken before the statements still waiting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ChannelPayment, Document, PaymentOrder
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.documents import dispatch
from app.services.platform.queues import QUEUE_NAMES, queue
from app.services.statements import schedule
from tests.support.engine import OPERATOR, make_order
from tests.support.factories import add_channel, make_reseller
from tests.support.online_gateway import API_SECRET, CALLBACK_SECRET, MERCHANT
from tests.support.statement_world import shanghai

REPO = Path(__file__).resolve().parents[2]
STATEMENTS = 200


def _count(*conds) -> int:
    n = db.session.scalar(sa.select(sa.func.count(Document.id)).where(Document.doc_type == "STATEMENT", *conds))
    db.session.rollback()
    return int(n or 0)


def _wait(predicate, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def queues(ctx, app):
    assert app.config["RQ_QUEUE_PREFIX"].startswith("test-")
    for name in QUEUE_NAMES:
        queue(name).empty()
    yield
    for name in QUEUE_NAMES:
        queue(name).empty()


@pytest.fixture
def workers(app, database_url, queues, tmp_path):
    """``start()`` starts two worker processes on every queue; they are stopped after the test (their
    output is in the test's temporary folder)."""
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=app.config["REDIS_URL"],
               RQ_QUEUE_PREFIX=app.config["RQ_QUEUE_PREFIX"])
    procs: list[subprocess.Popen] = []
    logs = []

    def start() -> None:
        for i in range(2):
            log = (tmp_path / f"worker{i}.log").open("w")
            logs.append(log)
            # Niced, as docs/ARCHITECTURE.md §7 deploys workers that print documents: the web
            # process, which answers callbacks, keeps the CPU it needs.
            procs.append(subprocess.Popen(["nice", "-n", "10", sys.executable, "worker.py", "--queues",
                                           ",".join(QUEUE_NAMES)],
                                          cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))

    yield start
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
    for log in logs:
        log.close()


def test_a_callback_settles_while_200_statements_wait(app, gateway, portal_http, queues, workers):
    gateway.reset()
    gateway.set_faults(drop_rate=0.0, duplicate_rate=0.0, out_of_order=False, query_error_rate=0.0,
                       callback_delay_ms=0, callback_retry_base_ms=50, processing_resolves_to="SUCCESS")
    app.config["PUBLIC_BASE_URL"] = portal_http
    rid = make_reseller("R1001")
    for i in range(STATEMENTS - 1):
        make_reseller(f"S{i:04d}")
    add_channel("ONLINE_UNIONPAY", "ONLINE", config={"base_url": gateway.base_url, "merchant_no": MERCHANT},
                secrets={"api_secret": API_SECRET, "callback_secret": CALLBACK_SECRET})

    def online_payment() -> tuple[str, str]:
        pid = make_order(amount="125000.00")
        res = checkout.submit(OPERATOR, None, rid, [AllocationIn(pid, "125000.00", "ONLINE_UNIONPAY")])
        txn = db.session.scalar(sa.select(ChannelPayment.channel_transaction_id)
                                .where(ChannelPayment.merged_payment_id == res.merged_pk))
        db.session.rollback()
        return pid, txn

    def settle_seconds(pid: str, txn: str) -> float:
        """The bank reports the payment; how long until the callback has settled it."""
        def paid() -> bool:
            amount = db.session.scalar(sa.select(PaymentOrder.paid_amount).where(PaymentOrder.payment_id == pid))
            db.session.rollback()
            return amount == Decimal("125000.00")

        started = time.monotonic()
        gateway.complete_payment(txn, "SUCCESS")
        _wait(paid, 30, "the callback to settle the payment")
        return time.monotonic() - started

    first, second = online_payment(), online_payment()
    # The same callback on the same machine with no statement waiting: what "at once" is here.
    baseline = settle_seconds(*first)
    # the first payment's receipt: its job is enqueued once the settlement has committed, just after
    # the payment shows as paid here
    _wait(lambda: queue(dispatch.QUEUE).count >= 1, 30, "the first payment's receipt job")
    for name in QUEUE_NAMES:
        queue(name).empty()

    asked = schedule.render_last_month(shanghai(2026, 4, 1, 0, 23))
    assert asked["requested"] == STATEMENTS
    assert queue(dispatch.QUEUE).count == STATEMENTS
    workers()
    _wait(lambda: _count(Document.state == "READY") >= 1, 120, "the workers to print a statement")
    waiting_before = _count(Document.state == "QUEUED")
    assert waiting_before >= STATEMENTS // 2, waiting_before

    settled = settle_seconds(*second)
    waiting_when_settled = _count(Document.state == "QUEUED")
    # A compensation run enqueued now is taken before the statements still waiting.
    job = queue("default").enqueue("app.jobs.payments.compensate_payments", result_ttl=600)
    _wait(lambda: job.refresh() or job.get_status(refresh=False) == "finished", 30, "the compensation job")
    still_waiting = _count(Document.state == "QUEUED")
    # Callbacks never queue behind documents: the payment settled while most statements still waited.
    # How long settling takes is this machine's business (on SQLite the printers' writes share one
    # write lock, and a loaded CI machine has needed 8 s), so the bound in seconds is only a backstop
    # far below the minutes the 200 statements take.
    assert waiting_when_settled >= STATEMENTS // 4, (waiting_when_settled, settled, baseline)
    assert settled < 30, (settled, baseline)
    assert still_waiting >= STATEMENTS // 3, (still_waiting, "the default job waited for the statements")
    assert job.started_at is not None and job.enqueued_at is not None
    assert (job.started_at - job.enqueued_at).total_seconds() < 15
