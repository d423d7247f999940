"""The credit line's own rules (app/services/ledgers/credit_line.py), called directly: what is
available, booking against it to the cent, and repayments (partial, exact, above the outstanding
amount). Written for the mutants of bench/mutation.py that the end-to-end tests let through."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.channels.base import PaymentPart
from app.domain.errors import StateConflict
from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import CreditEntry, CreditRecord, OutboxEvent, Reseller
from app.services.ledgers import credit_line
from app.services.ledgers.credit_line import CreditUnavailable
from tests.support.engine import make_order, order


def _reseller(**values) -> Reseller:
    r = db.session.scalar(sa.select(Reseller).where(Reseller.code == "R1001"))
    for name, value in values.items():
        setattr(r, name, value)
    db.session.commit()
    return r


def _parts(*amounts: str) -> list[PaymentPart]:
    parts = []
    for amount in amounts:
        pid = make_order(amount=amount)
        o = order(pid)
        parts.append(PaymentPart(transaction_pk=None, order_pk=o.id, order_id=o.order_id,  # type: ignore[arg-type]
                                 amount=Decimal(amount)))
    return parts


@pytest.mark.parametrize("status, credit_status, limit, used, expected", [
    ("ACTIVE", "ACTIVE", "1000.00", "250.00", "750.00"),
    ("ACTIVE", "ACTIVE", "1000.00", "1000.00", "0.00"),
    ("ACTIVE", "ACTIVE", "1000.00", "1000.01", "0.00"),  # never negative (a limit lowered under the use)
    ("ACTIVE", "SUSPENDED", "1000.00", "0.00", "0.00"),
    ("SUSPENDED", "ACTIVE", "1000.00", "0.00", "0.00"),
    ("SUSPENDED", "SUSPENDED", "1000.00", "0.00", "0.00"),
])
def test_available_credit(engine_setup, status, credit_status, limit, used, expected):
    r = Reseller(status=status, credit_status=credit_status, credit_limit=Decimal(limit), credit_used=Decimal(used))
    got = credit_line.available(r)
    assert got == Decimal(expected) and got.as_tuple().exponent == -2


def test_book_to_the_last_cent_of_the_limit(engine_setup):
    r1 = engine_setup["R1001"]
    _reseller(credit_limit=Decimal("1000.00"), credit_used=Decimal("0.00"), credit_term_days=45)
    records = credit_line.book(r1, _parts("400.00", "600.00"), "MP-1", "op")
    assert [rec.amount for rec in records] == [Decimal("400.00"), Decimal("600.00")]
    assert [rec.outstanding_amount for rec in records] == [Decimal("400.00"), Decimal("600.00")]
    assert {rec.status for rec in records} == {"OPEN"}
    assert {rec.due_date for rec in records} == {shanghai_today() + timedelta(days=45)}
    assert len({rec.credit_record_id for rec in records}) == 2
    assert db.session.get(Reseller, r1).credit_used == Decimal("1000.00")
    entries = db.session.scalars(sa.select(CreditEntry).order_by(CreditEntry.id)).all()
    assert [(e.entry_type, e.amount, e.used_after, e.credit_record_id, e.reference, e.actor) for e in entries] == [
        ("USE", Decimal("400.00"), Decimal("400.00"), records[0].id, "MP-1", "op"),
        ("USE", Decimal("600.00"), Decimal("1000.00"), records[1].id, "MP-1", "op")]


def test_book_one_cent_above_the_available_credit_books_nothing(engine_setup):
    r1 = engine_setup["R1001"]
    _reseller(credit_limit=Decimal("1000.00"), credit_used=Decimal("200.00"))
    with pytest.raises(CreditUnavailable, match=r"available credit 800\.00 is less than 800\.01"):
        credit_line.book(r1, _parts("500.00", "300.01"), "MP-1", "op")
    assert db.session.get(Reseller, r1).credit_used == Decimal("200.00")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CreditRecord)) == 0


def _record(engine_setup, amount: str) -> CreditRecord:
    _reseller(credit_limit=Decimal("1000.00"), credit_used=Decimal("0.00"))
    return credit_line.book(engine_setup["R1001"], _parts(amount), "MP-1", "op")[0]


def _repaid_events() -> list[dict]:
    db.session.commit()  # the caller's commit writes the events
    return [e.payload for e in db.session.scalars(sa.select(OutboxEvent).where(
        OutboxEvent.event_type == "credit_repayment.completed").order_by(OutboxEvent.id))]


def test_a_partial_repayment_leaves_the_record_open(engine_setup):
    rec = _record(engine_setup, "300.00")
    assert credit_line.repay(rec.credit_record_id, Decimal("100.00"), "TX-1", "fin") == Decimal("0.00")
    assert rec.outstanding_amount == Decimal("200.00") and rec.status == "OPEN"
    assert db.session.get(Reseller, engine_setup["R1001"]).credit_used == Decimal("200.00")
    last = db.session.scalars(sa.select(CreditEntry).order_by(CreditEntry.id.desc())).first()
    assert (last.entry_type, last.amount, last.used_after, last.reference) == (
        "REPAY", Decimal("-100.00"), Decimal("200.00"), "TX-1")
    assert _repaid_events() == [{"creditRecordId": rec.credit_record_id, "orderId": rec.order_id,
                                 "resellerId": "R1001", "repaidAmount": "100.00", "outstandingAmount": "200.00",
                                 "status": "OPEN"}]


def test_the_exact_outstanding_amount_repays_the_record(engine_setup):
    rec = _record(engine_setup, "300.00")
    assert credit_line.repay(rec.credit_record_id, Decimal("300.00"), "TX-1", "fin") == Decimal("0.00")
    assert rec.outstanding_amount == Decimal("0.00") and rec.status == "REPAID"
    assert db.session.get(Reseller, engine_setup["R1001"]).credit_used == Decimal("0.00")


def test_a_repayment_above_the_outstanding_amount_returns_the_excess(engine_setup):
    rec = _record(engine_setup, "300.00")
    assert credit_line.repay(rec.credit_record_id, Decimal("300.01"), "TX-1", "fin") == Decimal("0.01")
    assert rec.outstanding_amount == Decimal("0.00") and rec.status == "REPAID"
    assert db.session.get(Reseller, engine_setup["R1001"]).credit_used == Decimal("0.00")
    assert _repaid_events()[-1]["repaidAmount"] == "300.00"


def test_a_repaid_record_takes_nothing_more(engine_setup):
    rec = _record(engine_setup, "300.00")
    credit_line.repay(rec.credit_record_id, Decimal("300.00"), "TX-1", "fin")
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(CreditEntry))
    assert credit_line.repay(rec.credit_record_id, Decimal("50.00"), "TX-2", "fin") == Decimal("50.00")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CreditEntry)) == entries  # no zero entry
    assert rec.status == "REPAID" and db.session.get(Reseller, engine_setup["R1001"]).credit_used == 0
    assert _repaid_events()[-1]["repaidAmount"] == "0.00"


def test_repaying_an_unknown_record_is_refused(engine_setup):
    with pytest.raises(StateConflict, match="credit record CR-NOPE does not exist"):
        credit_line.repay("CR-NOPE", Decimal("1.00"), "TX-1", "fin")


def test_a_repayment_of_one_cent_counts(engine_setup):
    rec = _record(engine_setup, "300.00")
    assert credit_line.repay(rec.credit_record_id, Decimal("0.01"), "TX-1", "fin") == Decimal("0.00")
    assert rec.outstanding_amount == Decimal("299.99")
    assert db.session.get(Reseller, engine_setup["R1001"]).credit_used == Decimal("299.99")


def test_a_repayment_reaches_its_own_record_only(engine_setup):
    _reseller(credit_limit=Decimal("1000.00"), credit_used=Decimal("0.00"))
    first, second = credit_line.book(engine_setup["R1001"], _parts("100.00", "200.00"), "MP-1", "op")
    credit_line.repay(second.credit_record_id, Decimal("50.00"), "TX-1", "fin")
    credit_line.repay(first.credit_record_id, Decimal("10.00"), "TX-2", "fin")
    assert (first.outstanding_amount, second.outstanding_amount) == (Decimal("90.00"), Decimal("150.00"))
    assert db.session.get(Reseller, engine_setup["R1001"]).credit_used == Decimal("240.00")
