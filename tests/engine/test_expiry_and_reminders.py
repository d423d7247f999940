"""Expiry releases reservations; deadline reminders go out once per stage."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.errors import StateConflict
from app.domain.timeutil import SHANGHAI, shanghai_today
from app.extensions import db
from app.models import ChannelPayment, MergedPayment, OutboxEvent, Reseller
from app.models.types import now_utc
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.orders import reminders
from app.services.settlement import expiry
from app.services.vouchers import upload as voucher_upload
from tests.support.engine import OPERATOR, check_invariants, make_order, order
from tests.support.files import minimal_pdf


def _age_all(seconds: int) -> None:
    db.session.execute(sa.update(ChannelPayment).values(expires_at=now_utc() - timedelta(seconds=seconds)))
    db.session.commit()


def test_wire_without_voucher_expires_and_releases(engine_setup):
    pid = make_order(amount="100.00")
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, "60.00", "WIRE_ICBC")])
    assert expiry.expire_due() == 0  # seven days to go
    _age_all(1)
    assert expiry.expire_due() == 1
    o = order(pid)
    assert o.reserved_amount == 0 and o.payment_status == "UNPAID" and o.payable_amount == Decimal("100.00")
    assert db.session.scalar(sa.select(MergedPayment.status)) == "EXPIRED"
    assert expiry.expire_due() == 0
    check_invariants()


def test_wire_with_a_voucher_waiting_does_not_expire(engine_setup, app, tmp_path):
    pid = make_order(amount="100.00")
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, "100.00", "WIRE_ICBC")])
    cp = db.session.scalar(sa.select(ChannelPayment))
    voucher_upload.upload(OPERATOR, engine_setup["users"]["op1"], engine_setup["R1001"], cp.channel_payment_id, "v.pdf",
                    minimal_pdf())
    _age_all(1)
    assert expiry.expire_due() == 0
    assert order(pid).payment_status == "PAYING"


def test_payment_never_approved_expires(engine_setup):
    db.session.execute(sa.update(Reseller).values(approval_threshold=Decimal("10.00")))
    db.session.commit()
    pid = make_order(amount="100.00")
    res = checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, "100.00", "WALLET")])
    assert res.status == "PENDING_APPROVAL"
    _age_all(1)
    assert expiry.expire_due() == 1
    assert order(pid).payment_status == "UNPAID"
    check_invariants()


def test_a_payment_waiting_for_approval_expires_without_help(engine_setup):
    """Its channel payment carries an expiry from the start (it once had none until approved, so a
    payment nobody approved held its reservation for ever)."""
    db.session.execute(sa.update(Reseller).values(approval_threshold=Decimal("10.00")))
    db.session.commit()
    pid = make_order(amount="100.00")
    before = now_utc()
    res = checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, "100.00", "WIRE_ICBC")])
    cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))
    assert cp.status == "PENDING"
    assert before + timedelta(days=7) <= cp.expires_at <= now_utc() + timedelta(days=7)  # WIRE_ICBC: 7 days
    db.session.rollback()
    assert expiry.expire_due() == 0
    assert order(pid).payment_status == "PAYING"


def test_a_payment_waiting_for_approval_expires_whole(engine_setup):
    """Its channel payments expire at different times (ONLINE 24 h, WIRE 7 days): the first that is
    due expires all of them, and an approver then gets a clear refusal, never a half-started payment."""
    from app.services.checkout import approval

    db.session.execute(sa.update(Reseller).values(approval_threshold=Decimal("10.00")))
    db.session.commit()
    a, b = make_order(amount="100.00"), make_order(amount="200.00")
    res = checkout.submit(OPERATOR, engine_setup["users"]["op1"], engine_setup["R1001"],
                          [AllocationIn(a, "100.00", "WIRE_ICBC"), AllocationIn(b, "200.00", "WALLET")])
    wallet_cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk,
                                                                  ChannelPayment.channel_kind == "WALLET"))
    wallet_cp.expires_at = now_utc() - timedelta(seconds=1)  # the earlier of the two is due
    db.session.commit()
    assert expiry.expire_due() == 2
    statuses = db.session.scalars(sa.select(ChannelPayment.status).where(
        ChannelPayment.merged_payment_id == res.merged_pk)).all()
    assert sorted(statuses) == ["EXPIRED", "EXPIRED"]
    assert order(a).payment_status == order(b).payment_status == "UNPAID"
    with pytest.raises(StateConflict, match="EXPIRED, not waiting for approval"):
        approval.approve(OPERATOR, engine_setup["users"]["ap1"], "reseller_approver", engine_setup["R1001"],
                         res.merged_payment_id)
    db.session.rollback()
    check_invariants()


def _reminders():
    rows = db.session.execute(sa.select(OutboxEvent.aggregate_id, OutboxEvent.payload).where(
        OutboxEvent.event_type == "payment_order.deadline_reminder")).all()
    db.session.rollback()
    return sorted((a, p["reminderStage"]) for a, p in rows)


def test_deadline_reminders_seven_three_one_days_before_on_the_day_and_overdue_once(engine_setup):
    from datetime import datetime, time

    def at(days):
        return datetime.combine(shanghai_today() + timedelta(days=days), time(18, 0), SHANGHAI)

    in7, in3, in1, today, late, long_late, in5, in2 = (
        make_order(deadline=at(d)) for d in (7, 3, 1, 0, -1, -8, 5, 2))
    paid = make_order(amount="10.00", deadline=at(3))
    late_paid = make_order(amount="10.00", deadline=at(-2))
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(paid, "10.00", "WALLET")])
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(late_paid, "10.00", "WALLET")])
    assert reminders.send_due() == 5
    assert _reminders() == sorted([(in7, "7d"), (in3, "3d"), (in1, "1d"), (today, "day"), (late, "overdue")])
    assert reminders.send_due() == 0  # once per order and stage
    # Overdue for longer than the window (8 days), paid, or not at a stage's day: no reminder.
    assert not {long_late, in5, in2, paid, late_paid} & {p for p, _ in _reminders()}


def test_a_backlog_of_reminded_orders_never_starves_the_rest(engine_setup):
    from datetime import datetime, time

    deadline = datetime.combine(shanghai_today() + timedelta(days=3), time(18, 0), SHANGHAI)
    first = [make_order(deadline=deadline) for _ in range(3)]
    assert reminders.send_due(limit=3) == 3
    later = make_order(deadline=deadline)
    assert reminders.send_due(limit=3) == 1  # the three reminded ones do not fill the limit
    assert sorted(p for p, _ in _reminders()) == sorted([*first, later])


@pytest.mark.parametrize("value", ["", "0", "61", "3,x", "-1"])
def test_reminder_days_must_be_from_one_to_sixty(value):
    with pytest.raises(ValueError, match="REMINDER_DAYS_BEFORE"):
        reminders.days_before(value)
    assert reminders.days_before("1, 3,7,3") == [7, 3, 1]


def test_approval_refuses_a_payment_part_of_which_has_ended(engine_setup):
    """Should one part end on its own (a race with the expiry above), approving starts none of it."""
    from app.services.checkout import approval
    from app.services.settlement import channel_result

    db.session.execute(sa.update(Reseller).values(approval_threshold=Decimal("10.00")))
    db.session.commit()
    a, b = make_order(amount="100.00"), make_order(amount="200.00")
    res = checkout.submit(OPERATOR, engine_setup["users"]["op1"], engine_setup["R1001"],
                          [AllocationIn(a, "100.00", "WIRE_ICBC"), AllocationIn(b, "200.00", "WALLET")])
    wallet_cp = db.session.scalar(sa.select(ChannelPayment.id).where(ChannelPayment.merged_payment_id == res.merged_pk,
                                                                     ChannelPayment.channel_kind == "WALLET"))
    db.session.rollback()
    channel_result.settle(wallet_cp, channel_result.Outcome(status="EXPIRED", reason="expired"), OPERATOR)
    with pytest.raises(StateConflict, match="part of this payment expired"):
        approval.approve(OPERATOR, engine_setup["users"]["ap1"], "reseller_approver", engine_setup["R1001"],
                         res.merged_payment_id)
    db.session.rollback()
    assert order(a).payment_status == "PAYING" and order(b).payment_status == "UNPAID"
    check_invariants()
