"""The checkout's validation (services/checkout/validation.py) at its edges, called directly: every
problem of every row is listed (not only the first), each limit admits its exact figure and refuses a
cent more, the daily limit counts today's live channel payments only, and the errors name the row.

These are the tests with teeth on the mutants that survived tests/engine/test_checkout_rules.py
(bench/mutation.py, issue 11): a `continue` made `break`, a `<` made `<=`, a day bound moved."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.timeutil import shanghai_day_bounds, shanghai_today
from app.extensions import db
from app.models import Channel, ChannelPayment, CreditRecord, Reseller
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn, CheckoutRejected, spent_today, validate
from app.services.orders.creation import NewPaymentOrder, create_payment_order
from app.services.orders.update import OrderChanges, update_payment_order
from app.services.platform.actor import Actor
from tests.support.engine import OPERATOR, make_order
from tests.support.factories import add_channel


def _problems(reseller_id, rows):
    with pytest.raises(CheckoutRejected) as e:
        validate(reseller_id, rows)
    db.session.rollback()
    return e.value


def test_every_row_problem_is_listed_in_row_order(engine_setup):
    r1 = engine_setup["R1001"]
    stopped = make_order(amount="100.00")
    update_payment_order(Actor(type="system", id="t"), stopped, OrderChanges(action="STOP",
                                                                            present=frozenset({"action"})))
    add_channel("WIRE_OFF", "WIRE", enabled=False)
    vip = db.session.get_one(Channel, add_channel("WIRE_VIP", "WIRE", available_to_all=False))
    vip.resellers = [db.session.get_one(Reseller, engine_setup["R1002"])]
    db.session.commit()
    dup = make_order(amount="100.00")
    rows = [
        AllocationIn("PAY-NOPE", "1.00", "WIRE_ICBC"),
        AllocationIn(dup, "1.00", "WIRE_ICBC"),
        AllocationIn(dup, "1.00", "WIRE_ICBC"),
        AllocationIn(stopped, "1.00", "WIRE_ICBC"),
        AllocationIn(make_order(amount="100.00"), "1.005", "WIRE_ICBC"),
        AllocationIn(make_order(amount="100.00"), "0.00", "WIRE_ICBC"),
        AllocationIn(make_order(amount="100.00"), "100.01", "WIRE_ICBC"),
        AllocationIn(make_order(amount="100.00"), "1.00", "NOPE"),
        AllocationIn(make_order(amount="100.00"), "1.00", "WIRE_OFF"),
        AllocationIn(make_order(amount="100.00"), "1.00", "WIRE_VIP"),
        AllocationIn(make_order(amount="100.00"), "1.00", "WIRE_ICBC"),  # the one good row
        AllocationIn("PAY-NOPE-2", "1.00", "WIRE_ICBC"),
    ]
    err = _problems(r1, rows)
    assert [(p.index, p.field, p.code) for p in err.problems] == [
        (0, "order", "ORDER_NOT_FOUND"), (2, "order", "ORDER_DUPLICATE"), (3, "order", "ORDER_NOT_PAYABLE"),
        (4, "amount", "AMOUNT_FORMAT"), (5, "amount", "AMOUNT_NOT_POSITIVE"), (6, "amount", "AMOUNT_ABOVE_PAYABLE"),
        (7, "channel", "CHANNEL_UNKNOWN"), (8, "channel", "CHANNEL_DISABLED"), (9, "channel", "CHANNEL_NOT_AVAILABLE"),
        (11, "order", "ORDER_NOT_FOUND"),
    ]
    assert err.problems[5].params == {"payable": Decimal("100.00")}
    # The error names each row (1-based for people, 0-based in the field path for programs).
    assert err.message.startswith("row 1: this payment order does not exist; row 3: ")
    assert err.errors[0] == {"field": "allocations[0].order", "message": "this payment order does not exist",
                             "code": "ORDER_NOT_FOUND"}
    assert err.errors[5]["field"] == "allocations[6].amount"


def test_a_credit_repayment_paid_with_credit_does_not_hide_the_next_row(engine_setup):
    r1 = engine_setup["R1001"]
    checkout.submit(OPERATOR, None, r1, [AllocationIn(make_order(amount="1000.00"), "1000.00", "CREDIT")])
    rec = db.session.scalars(sa.select(CreditRecord)).one()
    repayment = create_payment_order(Actor(type="api_client", id="t"), NewPaymentOrder(
        order_id=rec.order_id, reseller_code="R1001", payment_type="CREDIT_REPAYMENT",
        payment_amount=Decimal("400.00"), credit_record_id=rec.credit_record_id), idempotency_key=None,
        fingerprint="x").order.payment_id
    err = _problems(r1, [AllocationIn(repayment, "400.00", "CREDIT"),
                         AllocationIn(make_order(amount="10.00"), "10.00", "NOPE")])
    assert [(p.index, p.code) for p in err.problems] == [(0, "CREDIT_NOT_FOR_REPAYMENT"), (1, "CHANNEL_UNKNOWN")]


def test_no_rows(engine_setup):
    err = _problems(engine_setup["R1001"], [])
    assert [(p.index, p.code) for p in err.problems] == [(0, "NO_ROWS")]
    assert err.errors == [{"field": "allocations[0].order", "message": "select at least one payment order",
                           "code": "NO_ROWS"}]


@pytest.mark.parametrize("amounts, code", [
    (("6.00", "4.00"), None),            # exactly the minimum, as the channel's total
    (("6.00", "3.99"), "CHANNEL_BELOW_MIN"),
    (("100.00", "50.00"), None),         # exactly the maximum
    (("100.00", "50.01"), "CHANNEL_ABOVE_MAX"),
])
def test_the_channel_limits_admit_their_exact_figure(engine_setup, amounts, code):
    add_channel("WIRE_SMALL", "WIRE", min_amount=Decimal("10.00"), max_amount=Decimal("150.00"))
    rows = [AllocationIn(make_order(amount="200.00"), a, "WIRE_SMALL") for a in amounts]
    if code is None:
        plan = validate(engine_setup["R1001"], rows)
        assert plan.total == sum((Decimal(a) for a in amounts), Decimal("0"))
        return
    err = _problems(engine_setup["R1001"], rows)
    # The channel's problem is every row's of that channel.
    assert [(p.index, p.code) for p in err.problems] == [(0, code), (1, code)]
    key, value = ("minimum", Decimal("10.00")) if code == "CHANNEL_BELOW_MIN" else ("maximum", Decimal("150.00"))
    assert err.problems[0].params == {key: value}


def test_the_daily_limit_admits_its_exact_figure(engine_setup):
    add_channel("WIRE_DAILY", "WIRE", daily_limit_per_reseller=Decimal("150.00"))
    r1 = engine_setup["R1001"]
    checkout.submit(OPERATOR, None, r1, [AllocationIn(make_order(), "100.00", "WIRE_DAILY")])
    assert validate(r1, [AllocationIn(make_order(), "50.00", "WIRE_DAILY")]).total == Decimal("50.00")
    db.session.rollback()
    err = _problems(r1, [AllocationIn(make_order(), "50.01", "WIRE_DAILY")])
    assert [(p.code, p.params) for p in err.problems] == [("CHANNEL_DAILY_LIMIT", {"limit": Decimal("150.00")})]


def test_the_wallet_and_the_credit_line_admit_their_exact_figure(engine_setup):
    r1 = engine_setup["R1001"]
    big = make_order(amount="2000000.00")
    assert validate(r1, [AllocationIn(big, "500000.00", "WALLET")]).total == Decimal("500000.00")
    db.session.rollback()
    err = _problems(r1, [AllocationIn(big, "500000.01", "WALLET")])
    assert [(p.code, p.params) for p in err.problems] == [("WALLET_INSUFFICIENT", {"balance": Decimal("500000.00")})]
    assert validate(r1, [AllocationIn(big, "1000000.00", "CREDIT")]).total == Decimal("1000000.00")
    db.session.rollback()
    err = _problems(r1, [AllocationIn(big, "1000000.01", "CREDIT")])
    assert [(p.code, p.params) for p in err.problems] == [("CREDIT_INSUFFICIENT", {"available": Decimal("1000000.00")})]


def test_the_plan_groups_rows_by_channel_and_totals_them(engine_setup):
    r1 = engine_setup["R1001"]
    rows = [AllocationIn(make_order(amount="100.00"), "10.00", "WALLET"),
            AllocationIn(make_order(amount="100.00"), "20.00", "WIRE_ICBC"),
            AllocationIn(make_order(amount="100.00"), "30.00", "WALLET")]
    plan = validate(r1, rows)
    assert plan.total == Decimal("60.00")
    assert [r.index for r in plan.rows] == [0, 1, 2]
    by_code = {group[0].channel.code: [r.index for r in group] for group in plan.by_channel.values()}
    assert by_code == {"WALLET": [0, 2], "WIRE_ICBC": [1]}


def test_spent_today_counts_this_days_live_payments_of_this_reseller_and_channel(engine_setup):
    r1, r2 = engine_setup["R1001"], engine_setup["R1002"]
    wire = db.session.scalar(sa.select(Channel.id).where(Channel.code == "WIRE_ICBC"))
    assert spent_today(r1, wire) == Decimal("0")
    amounts = ["1.00", "2.00", "4.00", "8.00", "16.00", "32.00", "64.00"]
    for a in amounts:
        checkout.submit(OPERATOR, None, r1, [AllocationIn(make_order(amount="100.00"), a, "WIRE_ICBC")])
    checkout.submit(OPERATOR, None, r2, [AllocationIn(make_order(reseller="R1002", amount="200.00"), "128.00",
                                                      "WIRE_ICBC")])
    checkout.submit(OPERATOR, None, r1, [AllocationIn(make_order(amount="300.00"), "256.00", "WALLET")])
    start, end = shanghai_day_bounds(shanghai_today())
    by_amount = {str(cp.amount): cp for cp in db.session.scalars(sa.select(ChannelPayment))}
    by_amount["1.00"].created_at = start                            # the first instant of the day: counts
    by_amount["2.00"].created_at = start - timedelta(microseconds=1)  # yesterday
    by_amount["4.00"].created_at = end                              # tomorrow
    by_amount["64.00"].created_at = end + timedelta(hours=1)        # later tomorrow (a clock gone wrong)
    by_amount["8.00"].status = "FAILED"
    by_amount["16.00"].status = "EXPIRED"
    by_amount["32.00"].status = "CANCELLED"
    db.session.commit()
    # only 1.00: not 2.00, 4.00, 64.00 (other days), 8.00/16.00/32.00 (took nothing), 128.00 (R1002), 256.00 (WALLET)
    assert spent_today(r1, wire) == Decimal("1.00")
    assert spent_today(r2, wire) == Decimal("128.00")
    wallet_channel = db.session.scalar(sa.select(Channel.id).where(Channel.code == "WALLET"))
    assert wallet_channel < wire  # so a `>=` in place of the channel's `==` would count the wires here
    assert spent_today(r1, wallet_channel) == Decimal("256.00")


@pytest.mark.parametrize("payment_type", ["ADVANCE_PAYMENT", "FINAL_PAYMENT", "OTHER_FEE"])
def test_every_order_but_a_credit_repayment_may_be_paid_with_credit(engine_setup, payment_type):
    pid = make_order(amount="100.00", payment_type=payment_type)
    plan = validate(engine_setup["R1001"], [AllocationIn(pid, "100.00", "CREDIT")])
    assert [(r.order.payment_id, r.channel.code) for r in plan.rows] == [(pid, "CREDIT")]


def test_a_reseller_never_pays_another_resellers_order_whichever_id_is_lower(engine_setup):
    """Tenant isolation both ways: R1002 (the higher id) names R1001's order, and R1001 names R1002's."""
    r1, r2 = engine_setup["R1001"], engine_setup["R1002"]
    assert r1 < r2
    theirs_of_r1 = make_order(reseller="R1001", amount="100.00")
    theirs_of_r2 = make_order(reseller="R1002", amount="100.00")
    for payer, order_id in ((r2, theirs_of_r1), (r1, theirs_of_r2)):
        err = _problems(payer, [AllocationIn(order_id, "100.00", "WIRE_ICBC")])
        assert [(p.index, p.code) for p in err.problems] == [(0, "ORDER_NOT_FOUND")]
