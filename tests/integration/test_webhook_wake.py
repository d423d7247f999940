"""Delivery woken by the commit (services/webhooks/wake.py): a commit that wrote outbox events
queues one delivery run unless one waits already; a rolled-back transaction queues nothing; the
run clears the mark before it reads the outbox, so the next commit queues the next run. Both order
create paths (the one-statement writer on PostgreSQL, the session elsewhere) wake it."""

from __future__ import annotations

import pytest

from app.domain.event_types import EventType
from app.extensions import db
from app.services.platform import outbox
from app.services.platform.queues import queue
from app.services.platform.unit_of_work import transaction
from app.services.webhooks import wake
from tests.support.api import CREATE, assert_ok, order_body


@pytest.fixture
def default_queue(ctx):
    q = queue("default")
    q.empty()
    wake.woken()
    yield q
    q.empty()
    wake.woken()


def delivery_runs(q) -> int:
    return sum(1 for job in q.get_jobs() if job.func_name == wake.DISPATCH_JOB)


def emit(order: str = "PO-1") -> None:
    with transaction():
        outbox.emit(EventType.PAYMENT_ORDER_UPDATED, "payment_order", order, {"orderId": order})


def test_a_commit_with_events_queues_one_run_until_the_run_starts(default_queue):
    emit()
    assert delivery_runs(default_queue) == 1
    emit("PO-2")
    emit("PO-3")
    assert delivery_runs(default_queue) == 1  # a burst queues one run, not one per event
    wake.woken()  # what the run does first
    emit("PO-4")
    assert delivery_runs(default_queue) == 2


def test_a_rolled_back_transaction_and_a_commit_without_events_queue_nothing(default_queue):
    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        with transaction():
            outbox.emit(EventType.PAYMENT_ORDER_UPDATED, "payment_order", "PO-1", {"orderId": "PO-1"})
            raise Undo
    with transaction():
        pass
    db.session.commit()
    assert delivery_runs(default_queue) == 0


def test_switched_off_only_the_tick_delivers(app, default_queue, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_WAKE_ON_COMMIT", False)
    emit()
    assert delivery_runs(default_queue) == 0


def test_a_created_order_wakes_delivery(api, make_reseller, default_queue):
    make_reseller("R1001")
    assert_ok(api.post(CREATE, json=order_body()), 201)
    assert delivery_runs(default_queue) == 1
