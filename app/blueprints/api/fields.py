"""Pydantic field types of the JSON contract: money read from its literal text, Shanghai times."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints, WithJsonSchema

from ...domain.money import MAX_AMOUNT, MoneyFormatError, parse_money
from ...domain.timeutil import FIRST_DATE, LAST_DATE, in_date_range, parse_datetime

# An amount given as text: ASCII digits, at most two decimals, no sign, no blanks around it (what
# the OpenAPI document's pattern says; a sign is refused with its own message below).
_AMOUNT_TEXT = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?", re.ASCII)


def _money(value, sign_message: str) -> Decimal:
    if isinstance(value, str):
        if value.startswith("-") and _AMOUNT_TEXT.fullmatch(value[1:]):
            raise ValueError(sign_message)
        if not _AMOUNT_TEXT.fullmatch(value):
            raise ValueError('must be an amount with at most two decimals, e.g. "1250000.00"')
    try:
        return parse_money(value)
    except MoneyFormatError as exc:
        raise ValueError(str(exc)) from None


def _money_positive(value) -> Decimal:
    return _money(value, "must be greater than 0")


def _money_nonneg(value) -> Decimal:
    return _money(value, "must not be negative")


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than 0")
    if value > MAX_AMOUNT:
        raise ValueError(f"must not exceed {MAX_AMOUNT}")
    return value


def _nonneg(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


_DATE_RANGE = f"between {FIRST_DATE.isoformat()} and {LAST_DATE.isoformat()}"


def _in_range(d: date) -> None:
    if not in_date_range(d):
        raise ValueError(f"must be {_DATE_RANGE}")


def _datetime(value):
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string, e.g. 2026-12-01T18:00:00+08:00")
    try:
        naive = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-12-01T18:00:00+08:00") from None
    _in_range(naive.date())  # before any conversion: year 1 or 9999 would leave datetime's range
    parsed = parse_datetime(value)
    _in_range(parsed.astimezone(UTC).date())
    return parsed


def _date(value):
    if isinstance(value, date) and not isinstance(value, datetime):
        _in_range(value)
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("must be a date yyyy-mm-dd")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a valid date yyyy-mm-dd") from None
    _in_range(parsed)
    return parsed


# At most 13 digits whose value is at most MAX_AMOUNT (99999999999.99): two leading zeros may pad it.
_AMOUNT_PATTERN = r"^0{0,2}[0-9]{1,11}(\.[0-9]{1,2})?$"
_MAX = float(MAX_AMOUNT)


def _money_schema(positive: bool) -> dict:
    text: dict = {"type": "string", "pattern": _AMOUNT_PATTERN}
    number: dict = {"type": "number", "multipleOf": 0.01, "maximum": _MAX}
    if positive:
        text["not"] = {"pattern": r"^0*(\.0*)?$"}
        number["exclusiveMinimum"] = 0
    else:
        number["minimum"] = 0
    bound = "greater than 0" if positive else "0 or more"
    return {"anyOf": [text, number], "examples": ["1250000.00"],
            "description": f"CNY amount, {bound}, at most {MAX_AMOUNT}, with at most two decimals: a string "
                           "of ASCII digits or a JSON number (read as a decimal, never as a float)"}


MoneyIn = Annotated[Decimal, BeforeValidator(_money_positive), AfterValidator(_positive),
                    WithJsonSchema(_money_schema(positive=True))]
MoneyInNonNeg = Annotated[Decimal, BeforeValidator(_money_nonneg), AfterValidator(_nonneg),
                          WithJsonSchema(_money_schema(positive=False))]
MoneyOut = Annotated[str, WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["1250000.00"]})]
DateTimeIn = Annotated[
    datetime, BeforeValidator(_datetime),
    WithJsonSchema({"type": "string", "format": "date-time",
                    "description": f"ISO 8601 date-time (without an offset: Shanghai time), {_DATE_RANGE}"}),
]
DateIn = Annotated[date, BeforeValidator(_date),
                   WithJsonSchema({"type": "string", "format": "date", "description": f"yyyy-mm-dd, {_DATE_RANGE}"})]
TimeOut = Annotated[str | None, WithJsonSchema({"type": ["string", "null"], "format": "date-time"})]


def text(max_len: int, min_len: int = 0) -> StringConstraints:
    """A text field's constraints: a JSON string (never a coerced number) of at most ``max_len``
    characters; used as ``Annotated[str, text(500)]``."""
    return StringConstraints(strict=True, max_length=max_len, min_length=min_len)


Ident = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-/]+$")]


def _tags(value):
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    if len(value) > 20:
        raise ValueError("at most 20 tags")
    for k, v in value.items():
        if len(k) > 64:
            raise ValueError(f"tag name {k[:20]!r}… is longer than 64 characters")
        if isinstance(v, Decimal) or isinstance(v, float):
            raise ValueError(f"tag {k!r}: values must be strings, integers, booleans or null")
        if v is not None and not isinstance(v, str | int | bool):
            raise ValueError(f"tag {k!r}: values must be strings, integers, booleans or null")
        if isinstance(v, str) and len(v) > 200:
            raise ValueError(f"tag {k!r}: value longer than 200 characters")
    return value


Tags = Annotated[
    dict, BeforeValidator(_tags),
    WithJsonSchema({"type": "object", "maxProperties": 20,
                    "additionalProperties": {"type": ["string", "integer", "boolean", "null"]}}),
]
