"""Pydantic field types of the JSON contract: money read from its literal text, Shanghai times."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints, WithJsonSchema

from ...domain.money import MAX_AMOUNT, MoneyFormatError, parse_money
from ...domain.timeutil import parse_datetime


def _money(value):
    try:
        return parse_money(value)
    except MoneyFormatError as exc:
        raise ValueError(str(exc)) from None


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


def _datetime(value):
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string, e.g. 2026-12-01T18:00:00+08:00")
    try:
        return parse_datetime(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-12-01T18:00:00+08:00") from None


def _date(value):
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("must be a date yyyy-mm-dd")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a valid date yyyy-mm-dd") from None


_MONEY_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": r"^\d{1,11}(\.\d{1,2})?$"},
        {"type": "number", "multipleOf": 0.01},
    ],
    "examples": ["1250000.00"],
    "description": "CNY amount with at most two decimals, as a string or a JSON number (read as a decimal)",
}

MoneyIn = Annotated[Decimal, BeforeValidator(_money), AfterValidator(_positive), WithJsonSchema(_MONEY_SCHEMA)]
MoneyInNonNeg = Annotated[Decimal, BeforeValidator(_money), AfterValidator(_nonneg), WithJsonSchema(_MONEY_SCHEMA)]
MoneyOut = Annotated[str, WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["1250000.00"]})]
DateTimeIn = Annotated[
    datetime, BeforeValidator(_datetime), WithJsonSchema({"type": "string", "format": "date-time"})
]
DateIn = Annotated[date, BeforeValidator(_date), WithJsonSchema({"type": "string", "format": "date"})]
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
