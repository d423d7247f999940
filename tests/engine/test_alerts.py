"""Alerts as rows (app/services/alerts): one unresolved alert per kind and subject, repeats counted,
announced once (outbox event, counter); the conditions raised where they happen (a large payment
failing, a payment without its result after 24 h) and cleared when they clear; acknowledge and
resolve with their rules. The other conditions are asserted in the tests of their areas (payouts
parked in MANUAL, reconciliation exceptions, a dead webhook endpoint, a document that fails)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from app.domain.errors import NotFound, StateConflict, ValidationFailed
from app.extensions import db
from app.models import Alert, AuditEntry, ChannelPayment, OutboxEvent
from app.models.types import now_utc
from app.services.alerts import handling
from app.services.alerts.checks import check_missing_callbacks
from app.services.alerts.raising import clear_alert, raise_alert
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.platform.actor import Actor
from app.services.platform.unit_of_work import transaction
from app.services.settlement import channel_result as settlement
from tests.support.alerts import alerts_of
from tests.support.engine import OPERATOR, make_order

ADMIN = Actor(type="user", id="1")


def _raised(kind: str) -> float:
    return REGISTRY.get_sample_value("portal_alerts_raised_total", {"kind": kind}) or 0.0


def _events() -> list[dict]:
    return [e.payload for e in db.session.scalars(
        sa.select(OutboxEvent).where(OutboxEvent.event_type == "alert.raised").order_by(OutboxEvent.id))]


def _wire(reseller_id: int, amount: str) -> ChannelPayment:
    res = checkout.submit(OPERATOR, None, reseller_id, [AllocationIn(make_order(amount=amount), amount, "WIRE_ICBC")])
    cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))
    db.session.commit()
    return cp


def test_a_condition_raised_again_is_one_alert_counted_and_announced_once(ctx):
    before = _raised("test_kind")
    with transaction():
        first = raise_alert("test_kind", "something broke", subject="X-1", where="here")
    with transaction():
        again = raise_alert("test_kind", "something broke again", subject="X-1", where="there")
        raise_alert("test_kind", "another thing", subject="X-2")
    assert first == again
    assert alerts_of("test_kind") == [("X-1", "OPEN", 2), ("X-2", "OPEN", 1)]
    alert = db.session.get_one(Alert, first)
    assert alert.message == "something broke again" and alert.details == {"where": "there"}
    assert alert.last_seen_at >= alert.first_seen_at and alert.severity == "warning"
    assert [(e["subject"], e["message"]) for e in _events()] == [("X-1", "something broke"), ("X-2", "another thing")]
    assert _raised("test_kind") == before + 2
    # resolved, the same condition is a new alert, announced again
    with transaction():
        assert clear_alert("test_kind", "X-1") is True
        assert clear_alert("test_kind", "X-1") is False
        raise_alert("test_kind", "broke once more", subject="X-1")
    assert alerts_of("test_kind") == [("X-1", "RESOLVED", 2), ("X-2", "OPEN", 1), ("X-1", "OPEN", 1)]
    assert len(_events()) == 3 and _raised("test_kind") == before + 3
    db.session.rollback()


def test_a_large_payment_that_fails_raises_a_critical_alert(engine_setup, app, monkeypatch):
    monkeypatch.setitem(app.config, "ALERT_LARGE_PAYMENT_AMOUNT", "1000.00")
    small, large = _wire(engine_setup["R1001"], "999.99"), _wire(engine_setup["R1001"], "1000.00")
    for cp in (small, large):
        assert settlement.settle(cp.id, settlement.Outcome(status="FAILED", reason="declined"), OPERATOR)
    assert alerts_of("large_payment_failed") == [(large.channel_payment_id, "OPEN", 1)]
    alert = db.session.scalars(sa.select(Alert)).one()
    assert alert.severity == "critical" and alert.details["amount"] == "1000.00"
    # a threshold that is not an amount falls back to 50,000.00 instead of alerting on every payment
    monkeypatch.setitem(app.config, "ALERT_LARGE_PAYMENT_AMOUNT", "lots")
    other = _wire(engine_setup["R1001"], "2000.00")
    settlement.settle(other.id, settlement.Outcome(status="FAILED"), OPERATOR)
    assert len(alerts_of("large_payment_failed")) == 1
    db.session.rollback()


def test_a_payment_without_its_result_after_24_hours_raises_once_and_clears_when_settled(engine_setup):
    cp = _wire(engine_setup["R1001"], "300.00")
    started = now_utc() - timedelta(hours=25)
    db.session.execute(sa.update(ChannelPayment).where(ChannelPayment.id == cp.id).values(
        channel_kind="ONLINE", status="PROCESSING", created_at=started))
    young = _wire(engine_setup["R1001"], "200.00")  # started now: not yet
    db.session.execute(sa.update(ChannelPayment).where(ChannelPayment.id == young.id).values(
        channel_kind="ONLINE", status="PROCESSING"))
    db.session.commit()
    assert check_missing_callbacks() == {"missing": 1, "cleared": 0}
    assert check_missing_callbacks() == {"missing": 1, "cleared": 0}
    assert alerts_of("callback_missing") == [(cp.channel_payment_id, "OPEN", 2)]
    assert len(_events()) == 1
    settlement.settle(cp.id, settlement.Outcome(status="SUCCESS", received_amount=Decimal("300.00")), OPERATOR)
    assert check_missing_callbacks() == {"missing": 0, "cleared": 1}
    assert alerts_of("callback_missing") == [(cp.channel_payment_id, "RESOLVED", 2)]
    db.session.rollback()


def test_acknowledge_then_resolve_with_a_note_each_audited(ctx):
    with transaction():
        alert_id = raise_alert("payout_manual", "a payout needs finance", subject="D-1")
    with pytest.raises(ValidationFailed):
        handling.acknowledge(ADMIN, alert_id, "x" * 501)
    with pytest.raises(ValidationFailed):
        handling.resolve(ADMIN, alert_id, "  \t ")  # a note is required
    with pytest.raises(NotFound):
        handling.acknowledge(ADMIN, 99999999)
    assert alerts_of("payout_manual") == [("D-1", "OPEN", 1)]  # refused input changed nothing
    acked = handling.acknowledge(ADMIN, alert_id)
    assert (acked.state, acked.acknowledged_by, acked.acknowledge_note) == ("ACKNOWLEDGED", "user:1", None)
    with pytest.raises(StateConflict):
        handling.acknowledge(ADMIN, alert_id, "again")
    # still unresolved: a repeat counts on it
    with transaction():
        raise_alert("payout_manual", "a payout needs finance", subject="D-1")
    assert alerts_of("payout_manual") == [("D-1", "ACKNOWLEDGED", 2)]
    done = handling.resolve(ADMIN, alert_id, "settled from the bank statement")
    assert (done.state, done.resolved_by, done.resolution_note) == ("RESOLVED", "user:1",
                                                                    "settled from the bank statement")
    with pytest.raises(StateConflict):
        handling.resolve(ADMIN, alert_id, "twice")
    audit = [(a.action, a.before, a.after["state"]) for a in db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.target_type == "alert").order_by(AuditEntry.id))]
    assert audit == [("alert.acknowledge", {"state": "OPEN"}, "ACKNOWLEDGED"),
                     ("alert.resolve", {"state": "ACKNOWLEDGED"}, "RESOLVED")]
    db.session.rollback()
