"""The outbox writes a transaction's events together, in the order emitted, when it commits; an
event with its own id is written (and refused when it is there already) where it is emitted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.domain.event_types import EventType
from app.extensions import db
from app.models import OutboxEvent
from app.services.platform import outbox
from tests.support.statements import inserts_into

CREATED = EventType.PAYMENT_ORDER_CREATED


def _aggregates() -> list[str]:
    return db.session.scalars(sa.select(OutboxEvent.aggregate_id).order_by(OutboxEvent.id)).all()


def test_the_events_of_a_transaction_are_one_statement_at_its_commit_in_the_order_emitted(ctx):
    with inserts_into("outbox_events") as inserts:
        outbox.emit(CREATED, "payment_order", "P1", {})
        outbox.insert_rows([outbox.event_row(CREATED, "payment_order", p, {}) for p in ("P2", "P3")])
        with pytest.raises(RuntimeError), db.session.begin_nested():
            outbox.emit(CREATED, "payment_order", "P-undone", {})
            raise RuntimeError("the step fails")
        outbox.emit(CREATED, "payment_order", "P4", {})
        assert inserts == []
        db.session.commit()
    assert len(inserts) == 1
    assert _aggregates() == ["P1", "P2", "P3", "P4"]


def test_a_rolled_back_transaction_writes_none_of_its_events(ctx):
    outbox.emit(CREATED, "payment_order", "P1", {})
    db.session.rollback()
    db.session.commit()
    assert _aggregates() == []


def test_an_event_with_its_own_id_is_written_where_it_is_emitted_and_refused_there_the_second_time(ctx):
    with inserts_into("outbox_events") as inserts:
        outbox.emit(CREATED, "payment_order", "P1", {}, event_id="evt_once")
        assert len(inserts) == 1
    db.session.commit()
    with pytest.raises(IntegrityError):
        outbox.emit(CREATED, "payment_order", "P1", {}, event_id="evt_once")
    db.session.rollback()
    assert _aggregates() == ["P1"]


def test_an_unknown_event_type_is_refused_where_it_is_emitted(ctx):
    with pytest.raises(ValueError):
        outbox.emit("payment_order.teleported", "payment_order", "P1", {})  # type: ignore[arg-type]
    db.session.commit()
    assert _aggregates() == []
