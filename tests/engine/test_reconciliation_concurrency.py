"""Reconciliation under concurrency (both databases; the row locks matter on PostgreSQL): a bank
callback arriving while the run settles the same payment applies it once; the same statement
imported by several finance users at once is one import; two runs of one day are one run."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.enums import StatementSource
from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import Channel, ChannelPayment, OutboxEvent, PaymentTransaction, ReconciliationRun, StatementImport
from app.services.platform.actor import Actor
from app.services.reconciliation import online_fetch, runs
from app.services.reconciliation.lines import Line
from app.services.reconciliation.statement_import import import_statement
from sandbox import signing
from sandbox.testing import http_request
from tests.support.concurrency import race
from tests.support.engine import check_invariants, checkout_online, detached, order
from tests.support.online_gateway import CALLBACK_SECRET

CALLBACK_PATH = "/api/v1/payment/callback/online/ONLINE_UNIONPAY"
ROUNDS = 4


def _channel_id() -> int:
    cid = db.session.scalar(sa.select(Channel.id).where(Channel.code == "ONLINE_UNIONPAY"))
    db.session.rollback()
    return cid


def _callback(portal_http, cp, event_id):
    body = json.dumps({"eventId": event_id, "type": "payment", "merchantNo": "MCH1001",
                       "merchantOrderNo": cp.channel_payment_id, "gatewayTxnId": cp.channel_transaction_id,
                       "amount": f"{cp.amount:.2f}", "currency": "CNY", "status": "SUCCESS", "paidAt": None,
                       "failReason": None}, separators=(",", ":")).encode()
    signature = signing.sign(CALLBACK_SECRET, body, int(time.time()))
    headers = {"Content-Type": "application/json", signing.HEADER: signature}
    return http_request("POST", portal_http + CALLBACK_PATH, body, headers)


def test_a_callback_racing_the_run_settles_the_payment_once(app, online, engine_setup, portal_http):
    online.set_faults(statement_delay_ms=-86_400_000, drop_rate=1.0)  # our callbacks are the only ones
    channel_id, today = _channel_id(), shanghai_today()
    paid = []
    for n in range(ROUNDS):
        pids, _res, cp = checkout_online(engine_setup)
        online.complete_payment(cp.channel_transaction_id, "SUCCESS")
        db.session.remove()
        outcome, answer = race(app, lambda: online_fetch.fetch_and_reconcile(channel_id, today),
                               lambda cp=cp, n=n: _callback(portal_http, cp, f"race-{n}"), refused=())
        assert outcome["reconciled"] is True and answer.status == 200, (outcome, answer.text)
        paid.extend(pids)
        db.session.expire_all()
        assert detached(db.session.get(ChannelPayment, cp.id)).status == "SUCCESS"
    assert [order(p).paid_amount for p in paid] == [Decimal("300.00"), Decimal("700.00")] * ROUNDS
    successes = db.session.scalar(sa.select(sa.func.count()).select_from(PaymentTransaction).where(
        PaymentTransaction.status == "SUCCESS"))
    events = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event_type == "transaction.succeeded"))
    run = db.session.scalar(sa.select(ReconciliationRun))
    assert (successes, events) == (2 * ROUNDS, 2 * ROUNDS)
    assert run.figures["MATCHED"]["count"] == ROUNDS and run.exception_count == 0
    db.session.rollback()
    check_invariants()


@pytest.mark.parametrize("users", [2, 6])
def test_the_same_statement_imported_at_once_is_one_import(app, online, engine_setup, users):
    channel_id, day = _channel_id(), date(2026, 11, 25)
    lines = [Line("payment", f"GW{i}", f"CP{i}", Decimal("10.00") + i, "SUCCESS", None) for i in range(50)]
    db.session.remove()
    results = race(app, *[lambda i=i: import_statement(channel_id, "ONLINE_UNIONPAY", day, StatementSource.GATEWAY,
                                                       lines, Actor("user", f"fin{i}@example.com"))
                          for i in range(users)], refused=())
    assert sum(r.created for r in results) == 1 and len({r.import_id for r in results}) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatementImport)) == 1
    db.session.rollback()
    ids = race(app, *[lambda r=results[0]: runs.reconcile(channel_id, day, r.import_id)] * 3, refused=())
    assert len(set(ids)) == 1
    run = db.session.scalar(sa.select(ReconciliationRun))
    assert run.attempt == 3 and run.figures["MISSING_IN_SYSTEM"]["count"] == 50 and run.exception_count == 50
    db.session.rollback()
