"""Money is a ``Decimal`` with two places, CNY only; never a float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import overload

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("99999999999.99")
_MONEY_TEXT = re.compile(r"^-?\d{1,13}(\.\d{1,2})?$")


class MoneyFormatError(ValueError):
    pass


def at_most_two_decimals(d: Decimal) -> bool:
    """A finite number with at most two decimals (``1.5``, ``1.50``, ``100``; not ``1.505``, NaN or
    Infinity, whose exponent is a letter)."""
    exponent = d.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -2


def parse_money(value: object) -> Decimal:
    """Read an amount from a JSON string, int or Decimal (JSON numbers are parsed as Decimal).

    Raises MoneyFormatError for floats, booleans, non-numbers and more than two decimals.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyFormatError("must be a decimal amount, not a floating-point number")
    if isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, Decimal):
        d = value
    elif isinstance(value, str):
        text = value.strip()
        if not _MONEY_TEXT.match(text):
            raise MoneyFormatError("must be an amount with at most two decimals, e.g. \"1250000.00\"")
        d = Decimal(text)
    else:
        raise MoneyFormatError("must be an amount (string or number)")
    if not d.is_finite():
        raise MoneyFormatError("must be a finite amount")
    if not at_most_two_decimals(d) and d != d.quantize(CENT):
        raise MoneyFormatError("must have at most two decimals")
    if abs(d) > MAX_AMOUNT:
        raise MoneyFormatError(f"must not exceed {MAX_AMOUNT}")
    try:
        return d.quantize(CENT)
    except InvalidOperation as exc:  # pragma: no cover - guarded by the bounds above
        raise MoneyFormatError("is not a valid amount") from exc


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


@overload
def money_str(amount: Decimal) -> str: ...
@overload
def money_str(amount: None) -> None: ...
@overload
def money_str(amount: Decimal | None) -> str | None: ...
def money_str(amount: Decimal | None) -> str | None:
    """The API's money text: always two decimals."""
    if amount is None:
        return None
    return f"{Decimal(amount).quantize(CENT):f}"


def format_cny(amount: Decimal) -> str:
    """UI text: ``¥1,250,000.00``."""
    q = Decimal(amount).quantize(CENT)
    sign = "-" if q < 0 else ""
    return f"{sign}¥{abs(q):,.2f}"
