"""Checkout with the internal channels (WALLET, CREDIT, WIRE) and the voucher desk."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn, CheckoutRejected
from app.services.ledgers import wallet
from app.services.vouchers import review as voucher_review
from app.services.vouchers import upload as voucher_upload
from tests.support.engine import FINANCE, OPERATOR, check_invariants, make_order, order
from tests.support.files import minimal_pdf


def test_wallet_and_credit_pay_at_once(engine_setup):
    a, b = make_order(amount="100000.00"), make_order(amount="200000.00")
    res = checkout.submit(OPERATOR, None, engine_setup["R1001"], [
        AllocationIn(a, "100000.00", "WALLET"), AllocationIn(b, "50000.00", "CREDIT")])
    assert res.status == "SUCCEEDED" or res.status == "PROCESSING"
    assert order(a).payment_status == "PAID" and order(a).paid_amount == Decimal("100000.00")
    assert order(b).payment_status == "PARTIAL_PAID" and order(b).paid_amount == Decimal("50000.00")
    assert wallet.balance(engine_setup["R1001"]) == Decimal("400000.00")
    check_invariants()


def test_wire_waits_for_voucher_then_finance_confirms_more(engine_setup, app, tmp_path):
    a, b = make_order(amount="300.00"), make_order(amount="700.00")
    res = checkout.submit(OPERATOR, None, engine_setup["R1001"], [
        AllocationIn(a, "300.00", "WIRE_ICBC"), AllocationIn(b, "700.00", "WIRE_ICBC")])
    assert order(a).payment_status == "PAYING"
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import ChannelPayment, MergedPayment
    cp = db.session.scalar(sa.select(ChannelPayment).join(MergedPayment).where(
        MergedPayment.merged_payment_id == res.merged_payment_id))
    assert cp.wire_reference and cp.status == "PROCESSING"
    users = engine_setup["users"]
    v = voucher_upload.upload(OPERATOR, users["op1"], engine_setup["R1001"], cp.channel_payment_id, "slip.pdf",
                        minimal_pdf())
    voucher_review.confirm(FINANCE, "finance", users["fin"], v.id, "1200.00")
    assert order(a).payment_status == "PAID" and order(b).payment_status == "PAID"
    assert wallet.balance(engine_setup["R1001"]) == Decimal("500200.00")
    check_invariants()


@pytest.mark.parametrize("amount, code", [
    ("0", "AMOUNT_NOT_POSITIVE"), ("-5.00", "AMOUNT_NOT_POSITIVE"), ("1.001", "AMOUNT_FORMAT"),
    ("1000.01", "AMOUNT_ABOVE_PAYABLE"),
])
def test_bad_amounts(engine_setup, amount, code):
    a = make_order(amount="1000.00")
    with pytest.raises(CheckoutRejected) as e:
        checkout.submit(OPERATOR, None, engine_setup["R1001"], [AllocationIn(a, amount, "WALLET")])
    assert e.value.problems[0].code == code
    assert order(a).reserved_amount == 0
    check_invariants()
