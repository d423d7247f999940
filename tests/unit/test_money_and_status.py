from decimal import Decimal

import pytest

from app.domain.enums import PaymentStatus, RefundStatus
from app.domain.money import (
    MAX_AMOUNT,
    MoneyFormatError,
    at_most_two_decimals,
    format_cny,
    from_cents,
    money_str,
    parse_money,
    to_cents,
)
from app.domain.order_status import derive_payment_status, derive_refund_status
from app.services.platform.crypto import mask_account


@pytest.mark.parametrize("value, expected", [
    ("1250000.00", Decimal("1250000.00")), ("0.1", Decimal("0.10")), (5, Decimal("5.00")),
    (Decimal("0.30"), Decimal("0.30")), (Decimal("1E+2"), Decimal("100.00")), (" 7.5 ", Decimal("7.50")),
    ("99999999999.99", MAX_AMOUNT), ("-99999999999.99", -MAX_AMOUNT), (Decimal("1.500"), Decimal("1.50")),
])
def test_parse_money_accepts(value, expected):
    assert parse_money(value) == expected
    assert parse_money(value).as_tuple().exponent == -2


@pytest.mark.parametrize("value", [
    0.1, True, "1.001", Decimal("0.30000000000000004"), "abc", "", "1e3", "NaN", Decimal("NaN"),
    Decimal("Infinity"), None, [], "100000000000.00", "1,000.00",
    # JSON numbers arrive as Decimal: a third decimal is refused whichever way it would round
    Decimal("1.506"), Decimal("1.504"), Decimal("100000000000.00"),
])
def test_parse_money_rejects(value):
    with pytest.raises(MoneyFormatError):
        parse_money(value)


def test_money_text():
    assert money_str(Decimal("1250000")) == "1250000.00"
    assert format_cny(Decimal("1250000")) == "¥1,250,000.00"
    assert format_cny(Decimal("-3.5")) == "-¥3.50"
    # the sign only below zero, including between -1 and 1
    assert [format_cny(Decimal(v)) for v in ("0", "0.50", "-0.50", "-1.00")] == ["¥0.00", "¥0.50", "-¥0.50", "-¥1.00"]


@pytest.mark.parametrize("value, expected", [
    ("1.5", True), ("1.50", True), ("100", True), ("1E+2", True), ("0.01", True),
    ("1.505", False), ("1.000", False), ("0.001", False), ("NaN", False), ("Infinity", False),
])
def test_at_most_two_decimals(value, expected):
    assert at_most_two_decimals(Decimal(value)) is expected


@pytest.mark.parametrize("amount, cents", [
    ("12.34", 1234), ("0.01", 1), ("0.005", 1), ("0.004", 0), ("1000000.00", 100000000), ("-2.50", -250),
])
def test_cents(amount, cents):
    assert to_cents(Decimal(amount)) == cents
    if Decimal(amount) == Decimal(amount).quantize(Decimal("0.01")):
        assert from_cents(cents) == Decimal(amount) and from_cents(cents).as_tuple().exponent == -2


@pytest.mark.parametrize("amount, paid, reserved, failed, expected", [
    ("100", "100", "0", False, PaymentStatus.PAID),
    ("100", "30", "70", False, PaymentStatus.PAYING),
    ("100", "0", "10", True, PaymentStatus.PAYING),
    ("100", "30", "0", True, PaymentStatus.PARTIAL_PAID),
    ("100", "0", "0", True, PaymentStatus.FAILED),
    ("100", "0", "0", False, PaymentStatus.UNPAID),
    # a cent is enough to count (paid, reserved), and paid to the cent is PAID
    ("100.00", "99.99", "0.01", False, PaymentStatus.PAYING),
    ("100.00", "0.01", "0", True, PaymentStatus.PARTIAL_PAID),
    ("100.00", "0.00", "0.01", True, PaymentStatus.PAYING),
    ("100.00", "99.99", "0", False, PaymentStatus.PARTIAL_PAID),
    ("100.00", "100.00", "0", True, PaymentStatus.PAID),
])
def test_payment_status_rules_in_order(amount, paid, reserved, failed, expected):
    got = derive_payment_status(amount=Decimal(amount), paid=Decimal(paid), reserved=Decimal(reserved),
                                last_attempt_failed=failed)
    assert got == expected


@pytest.mark.parametrize("paid, refunded, refunding, failed, expected", [
    ("100", "0", "10", True, RefundStatus.REFUNDING),
    ("100", "10", "0", True, RefundStatus.REFUND_FAILED),
    ("100", "100", "0", False, RefundStatus.FULL_REFUNDED),
    ("100", "40", "0", False, RefundStatus.PARTIAL_REFUNDED),
    ("100", "0", "0", False, RefundStatus.NO_REFUND),
    # a cent is enough to count (refunding, refunded), and refunded to the cent is FULL_REFUNDED
    ("100.00", "0.00", "0.01", False, RefundStatus.REFUNDING),
    ("100.00", "0.01", "0.00", False, RefundStatus.PARTIAL_REFUNDED),
    ("100.00", "99.99", "0.00", False, RefundStatus.PARTIAL_REFUNDED),
    ("0.01", "0.01", "0.00", False, RefundStatus.FULL_REFUNDED),
    ("100.00", "0.00", "0.00", True, RefundStatus.REFUND_FAILED),
])
def test_refund_status_rules(paid, refunded, refunding, failed, expected):
    got = derive_refund_status(paid=Decimal(paid), refunded=Decimal(refunded), refunding=Decimal(refunding),
                               last_refund_failed=failed)
    assert got == expected


@pytest.mark.parametrize("number, masked", [
    ("6222020200112233445", "6222 **** **** 3445"), ("6222 0202 0011 2233", "6222 **** **** 2233"),
])
def test_mask_account_shows_first_and_last_four(number, masked):
    assert mask_account(number) == masked
