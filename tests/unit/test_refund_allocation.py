"""The refund allocation rules one by one (``app/services/refunds/allocation.py``, docs/DOMAIN.md §6),
on plain objects: LATEST by completion time with spill-over, PROPORTIONAL by largest remainder with
its tie rules, the amount checks of ``plan`` and the channel checks of ``check_channel``. Written
for the mutants of bench/mutation.py that survived the end-to-end refund tests (each test names the
rule it pins); the end-to-end paths are tests/engine/test_refunds.py and test_refund_wire.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from app.domain.enums import ChannelKind, RefundStrategy, RefundType
from app.domain.errors import StateConflict, ValidationFailed
from app.services.refunds.allocation import check_channel, plan, split_latest, split_proportional
from app.services.refunds.instruction import RefundInstruction

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def txn(i: int, refundable: str, *, created: int = 0, completed: int | None = None, amount: str | None = None,
        kind: str = ChannelKind.WALLET, channel_id: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        id=i, transaction_id=f"TXN{i}", refundable_amount=Decimal(refundable), amount=Decimal(amount or refundable),
        created_at=T0 + timedelta(hours=created),
        completed_at=None if completed is None else T0 + timedelta(hours=completed),
        channel_kind=kind, channel_id=channel_id, channel_code=f"CH{channel_id}" if channel_id else None, reseller_id=1)


def parts_of(parts) -> list[tuple[int, str]]:
    return [(t.id, f"{a:.2f}") for t, a in parts]


def ins(amount: str, refund_type: str = RefundType.PARTIAL, strategy: str = RefundStrategy.LATEST,
        transaction_id: str | None = None) -> RefundInstruction:
    return RefundInstruction("RF1", "PAY1", Decimal(amount), refund_type, strategy, transaction_id)


def order(refundable: str) -> SimpleNamespace:
    return SimpleNamespace(payment_id="PAY1", refundable_amount=Decimal(refundable))


# --- LATEST -----------------------------------------------------------------------------------

def test_latest_goes_by_completion_time_not_creation_time():
    # 1 was created first but completed last: it is the newest payment, refunded first.
    a, b = txn(1, "300.00", created=0, completed=5), txn(2, "700.00", created=1, completed=2)
    assert parts_of(split_latest([a, b], Decimal("100.00"))) == [(1, "100.00")]
    # Without a completion time the creation time counts.
    c = txn(3, "50.00", created=9)
    assert parts_of(split_latest([a, b, c], Decimal("60.00"))) == [(3, "50.00"), (1, "10.00")]


def test_latest_spills_into_older_payments_until_the_last_cent():
    newest, older, oldest = txn(1, "300.00", completed=3), txn(2, "1.00", completed=2), txn(3, "5.00", completed=1)
    # After the newest, exactly 1.00 is left: it must still be taken (no stop at a round figure).
    assert parts_of(split_latest([oldest, older, newest], Decimal("301.00"))) == [(1, "300.00"), (2, "1.00")]
    assert parts_of(split_latest([oldest, older, newest], Decimal("302.50"))) == [
        (1, "300.00"), (2, "1.00"), (3, "1.50")]
    # A payment with nothing left to refund is skipped, not given a zero part.
    spent = txn(4, "0.00", completed=4)
    assert parts_of(split_latest([spent, newest], Decimal("10.00"))) == [(1, "10.00")]


# --- PROPORTIONAL -----------------------------------------------------------------------------

def test_proportional_includes_payments_below_one_yuan():
    assert parts_of(split_proportional([txn(1, "0.50"), txn(2, "99.50")], Decimal("100.00"))) == [
        (1, "0.50"), (2, "99.50")]
    assert parts_of(split_proportional([txn(1, "0.01")], Decimal("0.01"))) == [(1, "0.01")]


def test_proportional_refuses_more_than_the_payments_hold_and_nothing_at_all():
    with pytest.raises(StateConflict):
        split_proportional([txn(1, "10.00"), txn(2, "5.00")], Decimal("15.01"))
    with pytest.raises(StateConflict):
        split_proportional([txn(1, "0.00")], Decimal("0.01"))
    with pytest.raises(StateConflict):
        split_proportional([], Decimal("0.01"))


def test_proportional_gives_the_spare_cent_to_the_largest_remainder_first():
    # 0.10 over 2.00 / 1.00 / 0.03 (303 cents): exact shares 6.60, 3.30, 0.099 cents -> 6, 3, 0 and
    # one spare cent, to the largest remainder (the first); the third gets no part at all.
    got = parts_of(split_proportional([txn(1, "2.00"), txn(2, "1.00"), txn(3, "0.03")], Decimal("0.10")))
    assert got == [(1, "0.07"), (2, "0.03")]
    # 0.02 over 1.50 and 2.50 (400 cents): exact 0.75 and 1.25 cents -> 0 and 1, remainders 300 and
    # 100: the spare cent goes to the smaller payment, whose remainder is larger.
    assert parts_of(split_proportional([txn(1, "1.50"), txn(2, "2.50")], Decimal("0.02"))) == [
        (1, "0.01"), (2, "0.01")]


def test_proportional_ties_of_remainder_go_to_the_larger_payment_then_the_older():
    # 0.02 over 1.00 and 3.00 (400 cents): exact 0.5 and 1.5 cents, both remainders 200: the tie
    # goes to the larger payment.
    assert parts_of(split_proportional([txn(1, "1.00"), txn(2, "3.00")], Decimal("0.02"))) == [(2, "0.02")]
    # 0.01 over 2.00 and 2.00: equal remainders, equal amounts: the older (first listed) one.
    assert parts_of(split_proportional([txn(1, "2.00"), txn(2, "2.00")], Decimal("0.01"))) == [(1, "0.01")]
    # 0.02 over 1.00, 1.00, 1.00, 2.00 (500 cents): exact 0.4, 0.4, 0.4, 0.8 cents: one cent to the
    # 2.00 (remainder 400), the next to the oldest of the three tied at 200.
    assert parts_of(split_proportional([txn(1, "1.00"), txn(2, "1.00"), txn(3, "1.00"), txn(4, "2.00")],
                                       Decimal("0.02"))) == [(1, "0.01"), (4, "0.01")]


# --- plan: the amount checks -------------------------------------------------------------------

@pytest.mark.parametrize("amount", ["0.00", "-0.01", "-1.00", "-300.00"])
def test_a_refund_of_nothing_or_less_is_refused(amount):
    with pytest.raises(ValidationFailed) as err:
        plan(ins(amount), order("300.00"), [txn(1, "300.00")])
    assert err.value.errors[0]["field"] == "refundAmount"


@pytest.mark.parametrize("amount", ["0.01", "0.50", "1.00", "1.01"])
def test_small_positive_refunds_are_planned(amount):
    assert parts_of(plan(ins(amount), order("300.00"), [txn(1, "300.00")])) == [(1, amount)]


@pytest.mark.parametrize("amount", ["299.99", "300.01", "1000.00"])
def test_a_full_refund_must_be_exactly_the_refundable_amount(amount):
    with pytest.raises(ValidationFailed) as err:  # 422 for above as well as below, not 409
        plan(ins(amount, RefundType.FULL), order("300.00"), [txn(1, "300.00")])
    assert err.value.errors[0]["field"] == "refundAmount"
    assert parts_of(plan(ins("300.00", RefundType.FULL), order("300.00"), [txn(1, "300.00")])) == [(1, "300.00")]


def test_each_strategy_is_the_one_asked_for():
    txns = [txn(1, "100.00", completed=1), txn(2, "300.00", completed=2)]
    assert parts_of(plan(ins("40.00"), order("400.00"), txns)) == [(2, "40.00")]
    assert parts_of(plan(ins("40.00", strategy=RefundStrategy.PROPORTIONAL), order("400.00"), txns)) == [
        (1, "10.00"), (2, "30.00")]
    assert parts_of(plan(ins("40.00", strategy=RefundStrategy.SPECIFIED, transaction_id="TXN1"),
                         order("400.00"), txns)) == [(1, "40.00")]


# --- check_channel -----------------------------------------------------------------------------

def channel(refund: bool = True, partial: bool = True) -> SimpleNamespace:
    return SimpleNamespace(supports_refund=refund, supports_partial_refund=partial)


def test_a_channel_that_does_not_refund_is_refused():
    orig = txn(1, "300.00", kind=ChannelKind.ONLINE, channel_id=7)
    with pytest.raises(StateConflict, match="does not support refunds"):
        check_channel(orig, Decimal("300.00"), ins("300.00", RefundType.FULL), {7: channel(refund=False)})
    check_channel(orig, Decimal("300.00"), ins("300.00", RefundType.FULL), {7: channel()})
    check_channel(orig, Decimal("300.00"), ins("300.00", RefundType.FULL), {})  # no channel row: kind decides


def test_a_part_below_its_payment_is_partial_whatever_the_refund_type():
    orig = txn(1, "300.00", kind=ChannelKind.ONLINE, channel_id=7, amount="500.00")  # 200.00 refunded before
    no_partial = {7: channel(partial=False)}
    with pytest.raises(StateConflict, match="partial"):
        check_channel(orig, Decimal("300.00"), ins("300.00", RefundType.FULL), no_partial)
    whole = txn(2, "500.00", kind=ChannelKind.ONLINE, channel_id=7)
    check_channel(whole, Decimal("500.00"), ins("500.00", RefundType.FULL), no_partial)


def test_a_partial_refund_counts_as_partial_even_when_it_takes_a_whole_payment():
    whole = txn(2, "500.00", kind=ChannelKind.ONLINE, channel_id=7)
    with pytest.raises(StateConflict, match="partial"):
        check_channel(whole, Decimal("500.00"), ins("500.00", RefundType.PARTIAL), {7: channel(partial=False)})
    check_channel(whole, Decimal("500.00"), ins("500.00", RefundType.PARTIAL), {7: channel()})
