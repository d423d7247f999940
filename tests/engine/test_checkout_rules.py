"""Every bad allocation is refused with a precise, per-row error and changes nothing; maker-checker."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.errors import DomainError, Forbidden, StateConflict, ValidationFailed
from app.extensions import db
from app.models import (
    AuditEntry,
    Channel,
    ChannelPayment,
    CreditRecord,
    MergedPayment,
    PaymentTransaction,
    Reseller,
)
from app.services.checkout import approval
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn, CheckoutRejected
from app.services.ledgers import wallet
from app.services.orders.creation import NewPaymentOrder, create_payment_order
from app.services.orders.update import OrderChanges, update_payment_order
from app.services.platform.actor import Actor
from app.services.vouchers import review as voucher_review
from app.services.vouchers import upload as voucher_upload
from tests.support.engine import FINANCE, OPERATOR, check_invariants, make_order, order
from tests.support.factories import add_channel
from tests.support.files import minimal_pdf


def _snapshot():
    db.session.expire_all()
    return (db.session.scalar(sa.select(sa.func.count()).select_from(MergedPayment)),
            db.session.scalar(sa.select(sa.func.count()).select_from(PaymentTransaction)),
            db.session.scalar(sa.select(Reseller.wallet_balance).where(Reseller.code == "R1001")),
            db.session.scalar(sa.select(Reseller.credit_used).where(Reseller.code == "R1001")))


def _refused(reseller_id, rows, code, field=None):
    before = _snapshot()
    with pytest.raises(CheckoutRejected) as e:
        checkout.submit(OPERATOR, None, reseller_id, rows)
    codes = [p.code for p in e.value.problems]
    assert code in codes, codes
    if field:
        assert any(p.field == field for p in e.value.problems)
    assert _snapshot() == before
    check_invariants()
    return e.value


@pytest.mark.parametrize("amount, code", [
    ("0", "AMOUNT_NOT_POSITIVE"), ("0.00", "AMOUNT_NOT_POSITIVE"), ("-1.00", "AMOUNT_NOT_POSITIVE"),
    ("10.005", "AMOUNT_FORMAT"), ("abc", "AMOUNT_FORMAT"), ("", "AMOUNT_FORMAT"), ("1000.01", "AMOUNT_ABOVE_PAYABLE"),
])
def test_bad_amount(engine_setup, amount, code):
    _refused(engine_setup["R1001"], [AllocationIn(make_order(amount="1000.00"), amount, "WIRE_ICBC")], code,
             "amount")


def test_another_resellers_order_is_not_found(engine_setup):
    theirs = make_order(reseller="R1002", amount="100.00")
    err = _refused(engine_setup["R1001"], [AllocationIn(theirs, "100.00", "WIRE_ICBC")], "ORDER_NOT_FOUND")
    assert "R1002" not in err.message


@pytest.mark.parametrize("action", ["STOP", "FREEZE"])
def test_stopped_or_frozen_order(engine_setup, action):
    pid = make_order(amount="100.00")
    update_payment_order(Actor(type="system", id="t"), pid, OrderChanges(action=action, present=frozenset({"action"})))
    _refused(engine_setup["R1001"], [AllocationIn(pid, "100.00", "WIRE_ICBC")], "ORDER_NOT_PAYABLE")


def test_paid_order(engine_setup):
    pid = make_order(amount="100.00")
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, "100.00", "WALLET")])
    assert order(pid).payment_status == "PAID"
    _refused(engine_setup["R1001"], [AllocationIn(pid, "1.00", "WIRE_ICBC")], "ORDER_NOT_PAYABLE")


def test_disabled_channel(engine_setup):
    db.session.execute(sa.update(Channel).where(Channel.code == "WIRE_ICBC").values(enabled=False))
    db.session.commit()
    _refused(engine_setup["R1001"], [AllocationIn(make_order(), "1.00", "WIRE_ICBC")], "CHANNEL_DISABLED", "channel")


def test_channel_not_available_to_reseller(engine_setup):
    ch_id = add_channel("WIRE_VIP", "WIRE", available_to_all=False)
    ch = db.session.get(Channel, ch_id)
    ch.resellers = [db.session.get(Reseller, engine_setup["R1002"])]
    db.session.commit()
    _refused(engine_setup["R1001"], [AllocationIn(make_order(), "1.00", "WIRE_VIP")], "CHANNEL_NOT_AVAILABLE")
    res = checkout.submit(OPERATOR, None, engine_setup["R1002"],
                          [AllocationIn(make_order(reseller="R1002"), "1.00", "WIRE_VIP")])
    assert res.status == "PROCESSING"


def test_unknown_channel(engine_setup):
    _refused(engine_setup["R1001"], [AllocationIn(make_order(), "1.00", "NOPE")], "CHANNEL_UNKNOWN")


def test_above_channel_maximum_counts_the_channel_total(engine_setup):
    add_channel("WIRE_SMALL", "WIRE", max_amount=Decimal("150.00"), min_amount=Decimal("10.00"))
    a, b = make_order(amount="100.00"), make_order(amount="100.00")
    err = _refused(engine_setup["R1001"], [AllocationIn(a, "100.00", "WIRE_SMALL"), AllocationIn(b, "100.00",
                                                                                              "WIRE_SMALL")],
                   "CHANNEL_ABOVE_MAX")
    assert {p.index for p in err.problems} == {0, 1}
    _refused(engine_setup["R1001"], [AllocationIn(a, "5.00", "WIRE_SMALL")], "CHANNEL_BELOW_MIN")


def test_daily_limit_per_reseller(engine_setup):
    add_channel("WIRE_DAILY", "WIRE", daily_limit_per_reseller=Decimal("150.00"))
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(make_order(), "100.00", "WIRE_DAILY")])
    _refused(engine_setup["R1001"], [AllocationIn(make_order(), "100.00", "WIRE_DAILY")], "CHANNEL_DAILY_LIMIT")


def test_wallet_above_balance(engine_setup):
    _refused(engine_setup["R1001"], [AllocationIn(make_order(amount="600000.00"), "500000.01", "WALLET")],
             "WALLET_INSUFFICIENT")


def test_credit_above_available(engine_setup):
    _refused(engine_setup["R1001"], [AllocationIn(make_order(amount="2000000.00"), "1000000.01", "CREDIT")],
             "CREDIT_INSUFFICIENT")


def test_credit_for_a_repayment_order(engine_setup):
    paid = make_order(amount="1000.00")
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(paid, "1000.00", "CREDIT")])
    rec = db.session.scalar(sa.select(CreditRecord))
    repayment = create_payment_order(Actor(type="api_client", id="t"), NewPaymentOrder(
        order_id=rec.order_id, reseller_code="R1001", payment_type="CREDIT_REPAYMENT",
        payment_amount=Decimal("400.00"), credit_record_id=rec.credit_record_id), idempotency_key=None,
        fingerprint="x").order.payment_id
    _refused(engine_setup["R1001"], [AllocationIn(repayment, "400.00", "CREDIT")], "CREDIT_NOT_FOR_REPAYMENT")
    # Paid from the wallet instead, the repayment restores the credit line.
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(repayment, "400.00", "WALLET")])
    db.session.expire_all()
    assert db.session.scalar(sa.select(Reseller.credit_used).where(Reseller.code == "R1001")) == Decimal("600.00")
    assert db.session.scalar(sa.select(CreditRecord.outstanding_amount)) == Decimal("600.00")
    check_invariants()


def test_duplicate_row_and_empty(engine_setup):
    pid = make_order()
    _refused(engine_setup["R1001"], [AllocationIn(pid, "1.00", "WIRE_ICBC"), AllocationIn(pid, "1.00", "WIRE_ICBC")],
             "ORDER_DUPLICATE")
    _refused(engine_setup["R1001"], [], "NO_ROWS")


def test_double_submit_makes_one_payment(engine_setup):
    pid = make_order(amount="100.00")
    rows = [AllocationIn(pid, "40.00", "WIRE_ICBC")]
    first = checkout.submit(OPERATOR, None, engine_setup["R1001"], rows, submit_token="tok-1")
    again = checkout.submit(OPERATOR, None, engine_setup["R1001"], rows, submit_token="tok-1")
    assert again.duplicate and again.merged_payment_id == first.merged_payment_id
    assert order(pid).reserved_amount == Decimal("40.00")


# --- maker-checker --------------------------------------------------------------------------------

def _big_payment(engine_setup, channel="WALLET", amount="100000.00"):
    db.session.execute(sa.update(Reseller).where(Reseller.code == "R1001").values(
        approval_threshold=Decimal("50000.00")))
    db.session.commit()
    pid = make_order(amount=amount)
    res = checkout.submit(OPERATOR, engine_setup["users"]["op1"], engine_setup["R1001"],
                          [AllocationIn(pid, amount, channel)])
    return pid, res


def test_above_threshold_waits_for_an_approver(engine_setup):
    pid, res = _big_payment(engine_setup)
    assert res.status == "PENDING_APPROVAL"
    assert order(pid).payment_status == "PAYING" and wallet.balance(engine_setup["R1001"]) == Decimal("500000.00")
    users = engine_setup["users"]
    with pytest.raises(Forbidden):  # an operator cannot approve
        approval.approve(OPERATOR, users["op1"], "reseller_operator", engine_setup["R1001"],
                                  res.merged_payment_id)
    with pytest.raises(DomainError):  # another reseller's approver does not even see it
        approval.approve(OPERATOR, users["ap1"], "reseller_approver", engine_setup["R1002"],
                                  res.merged_payment_id)
    approval.approve(OPERATOR, users["ap1"], "reseller_approver", engine_setup["R1001"],
                              res.merged_payment_id)
    assert order(pid).payment_status == "PAID"
    assert wallet.balance(engine_setup["R1001"]) == Decimal("400000.00")
    with pytest.raises(StateConflict):
        approval.approve(OPERATOR, users["ap1"], "reseller_approver", engine_setup["R1001"],
                                  res.merged_payment_id)
    check_invariants()


def test_maker_cannot_approve_own_payment(engine_setup):
    pid, res = _big_payment(engine_setup)
    users = engine_setup["users"]
    db.session.execute(sa.update(MergedPayment).values(created_by_user_id=users["ap1"]))
    db.session.commit()
    with pytest.raises(Forbidden):
        approval.approve(OPERATOR, users["ap1"], "reseller_approver", engine_setup["R1001"],
                                  res.merged_payment_id)


def test_rejection_releases_the_reservation(engine_setup):
    pid, res = _big_payment(engine_setup)
    with pytest.raises(ValidationFailed):
        approval.reject(OPERATOR, "reseller_approver", engine_setup["R1001"], res.merged_payment_id, " ")
    approval.reject(OPERATOR, "reseller_approver", engine_setup["R1001"], res.merged_payment_id, "too much")
    assert order(pid).reserved_amount == 0 and order(pid).payment_status == "UNPAID"
    mp = db.session.scalar(sa.select(MergedPayment))
    assert mp.status == "CANCELLED" and mp.reject_reason == "too much"
    check_invariants()


def test_approval_rechecks_the_wallet(engine_setup):
    pid, res = _big_payment(engine_setup, amount="400000.00")
    wallet.post(engine_setup["R1001"], Decimal("-450000.00"), "ADJUST", reference=None, actor="t")
    db.session.commit()
    with pytest.raises(StateConflict):
        approval.approve(OPERATOR, engine_setup["users"]["ap1"], "reseller_approver",
                                  engine_setup["R1001"], res.merged_payment_id)
    assert db.session.scalar(sa.select(MergedPayment.status)) == "PENDING_APPROVAL"
    check_invariants()


# --- vouchers -------------------------------------------------------------------------------------

@pytest.fixture
def wire_payment(engine_setup, app, tmp_path):
    pid = make_order(amount="1000.00")
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(pid, "1000.00", "WIRE_ICBC")])
    return db.session.scalar(sa.select(ChannelPayment)).channel_payment_id, pid


@pytest.mark.parametrize("name, data", [
    ("slip.pdf", b"MZ\x90\x00 an executable renamed"), ("slip.pdf", b"<html><script>alert(1)</script>"),
    ("slip.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"), ("empty.pdf", b""),
])
def test_voucher_must_be_a_real_pdf_or_image(engine_setup, wire_payment, name, data):
    number, _ = wire_payment
    with pytest.raises(ValidationFailed):
        voucher_upload.upload(OPERATOR, engine_setup["users"]["op1"], engine_setup["R1001"], number, name, data)


def test_voucher_size_limit(engine_setup, wire_payment, app):
    number, _ = wire_payment
    limit = app.config["VOUCHER_MAX_BYTES"]
    with pytest.raises(ValidationFailed):
        voucher_upload.upload(OPERATOR, engine_setup["users"]["op1"], engine_setup["R1001"], number, "big.pdf",
                        minimal_pdf(size=limit + 1))
    v = voucher_upload.upload(OPERATOR, engine_setup["users"]["op1"], engine_setup["R1001"], number,
                        "../../etc/\u202epassw.pdf", minimal_pdf(size=limit))
    assert v.original_name == "passw.pdf" and "/" not in v.stored_name


def test_voucher_confirmation_needs_finance_and_a_choice_on_shortfall(engine_setup, wire_payment):
    number, pid = wire_payment
    users = engine_setup["users"]
    v = voucher_upload.upload(OPERATOR, users["op1"], engine_setup["R1001"], number, "s.png", b"\x89PNG\r\n\x1a\nxx")
    with pytest.raises(Forbidden):
        voucher_review.confirm(OPERATOR, "reseller_operator", users["op1"], v.id, "1000.00")
    with pytest.raises(ValidationFailed):
        voucher_review.confirm(FINANCE, "finance", users["fin"], v.id, "600.00")
    with pytest.raises(ValidationFailed):
        voucher_review.confirm(FINANCE, "finance", users["fin"], v.id, "0.00")
    assert order(pid).reserved_amount == Decimal("1000.00")
    voucher_review.confirm(FINANCE, "finance", users["fin"], v.id, "600.00", "accept")
    o = order(pid)
    assert o.paid_amount == Decimal("600.00") and o.reserved_amount == 0 and o.payment_status == "PARTIAL_PAID"
    check_invariants()


def test_short_wire_is_applied_earliest_deadline_first(engine_setup, app, tmp_path):
    from datetime import timedelta

    from app.models.types import now_utc

    late = make_order(amount="500.00", deadline=now_utc() + timedelta(days=30))
    soon = make_order(amount="300.00", deadline=now_utc() + timedelta(days=2))
    checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(late, "500.00", "WIRE_ICBC"),
                                                            AllocationIn(soon, "300.00", "WIRE_ICBC")])
    cp = db.session.scalar(sa.select(ChannelPayment))
    v = voucher_upload.upload(OPERATOR, engine_setup["users"]["op1"], engine_setup["R1001"], cp.channel_payment_id,
                        "s.pdf", minimal_pdf("1"))
    voucher_review.confirm(FINANCE, "finance", engine_setup["users"]["fin"], v.id, "450.00", "accept")
    assert order(soon).payment_status == "PAID"
    assert order(late).paid_amount == Decimal("150.00") and order(late).payment_status == "PARTIAL_PAID"
    check_invariants()


def test_rejected_voucher_keeps_the_transfer_open(engine_setup, wire_payment):
    number, pid = wire_payment
    users = engine_setup["users"]
    v = voucher_upload.upload(OPERATOR, users["op1"], engine_setup["R1001"], number, "s.pdf", minimal_pdf("1"))
    with pytest.raises(ValidationFailed):
        voucher_review.reject(FINANCE, "finance", users["fin"], v.id, "")
    voucher_review.reject(FINANCE, "finance", users["fin"], v.id, "金额不符 / amount not found on the statement")
    assert order(pid).payment_status == "PAYING"
    v2 = voucher_upload.upload(OPERATOR, users["op1"], engine_setup["R1001"], number, "s2.pdf", minimal_pdf("2"))
    assert v2.id != v.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "voucher.reject")) == 1


def test_automatic_repayment_orders_when_configured(app, engine_setup):
    a, b = make_order(amount="1000.00"), make_order(amount="2000.00")
    app.config["AUTO_CREDIT_REPAYMENT_ORDERS"] = True
    try:
        checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(a, "1000.00", "CREDIT"),
                                                                AllocationIn(b, "500.00", "CREDIT")])
        from app.models import PaymentOrder
        from app.services.orders import repayment_orders

        repayments = db.session.scalars(sa.select(PaymentOrder).where(
            PaymentOrder.payment_type == "CREDIT_REPAYMENT").order_by(PaymentOrder.payment_amount)).all()
        assert [r.payment_amount for r in repayments] == [Decimal("500.00"), Decimal("1000.00")]
        records = {r.credit_record_id: r for r in db.session.scalars(sa.select(CreditRecord))}
        assert {r.related_business_id for r in repayments} == set(records)
        assert all(r.related_business_type == "CREDIT_RECORD" for r in repayments)
        db.session.rollback()
        assert repayment_orders.create_missing() == 0  # the sweep finds nothing missing
    finally:
        app.config["AUTO_CREDIT_REPAYMENT_ORDERS"] = False
    check_invariants()
