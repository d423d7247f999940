"""Cell values of a bank's export read strictly: amounts (Decimal, at most two decimals, ``1,250.00``
thousands separators allowed), dates in the forms Chinese banks write them, currencies. A value that
does not parse is refused with its position; nothing is guessed."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from ...domain.money import CENT, MAX_AMOUNT, at_most_two_decimals
from .lines import Position
from .problems import Problem, StatementRejected

_AMOUNT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")
_DATE_FORMS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
_TIME_PART = re.compile(r"^(\S+)(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
CURRENCY_WORDS = {"CNY": "CNY", "RMB": "CNY", "人民币": "CNY", "CNY人民币": "CNY"}


def clean(value: object) -> str:
    """A cell as text: NFKC (全角 digits and spaces become ASCII), trimmed; None is ``""``."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_amount(value: object, where: Position) -> Decimal | None:
    """None for an empty cell; a signed Decimal with two places; refused otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise StatementRejected(Problem.BAD_AMOUNT, where, str(value))
    if isinstance(value, float):  # openpyxl reads a numeric cell as float: its shortest repr, same rules
        text = repr(value)
    elif isinstance(value, int | Decimal):
        text = str(value)
    else:
        text = clean(value).replace(" ", "")
    if not text:
        return None
    if not _AMOUNT.match(text):
        raise StatementRejected(Problem.BAD_AMOUNT, where, clean(value))
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise StatementRejected(Problem.BAD_AMOUNT, where, clean(value)) from None
    if not at_most_two_decimals(amount) or abs(amount) > MAX_AMOUNT:
        raise StatementRejected(Problem.BAD_AMOUNT, where, clean(value))
    return amount.quantize(CENT)


def parse_date(value: object, where: Position) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = clean(value)
    if not text:
        raise StatementRejected(Problem.MISSING_VALUE, where)
    day = _date_of_text(text)
    if day is None:
        raise StatementRejected(Problem.BAD_DATE, where, text)
    return day


@lru_cache(maxsize=4096)
def _date_of_text(text: str) -> date | None:
    """A statement repeats a few dates thousands of times: each text is parsed once."""
    m = _TIME_PART.match(text)
    day_text = m.group(1) if m else text
    for form in _DATE_FORMS:
        try:
            return datetime.strptime(day_text, form).date()
        except ValueError:
            continue
    return None


def parse_currency(value: object, where: Position, default: str = "CNY") -> str:
    text = clean(value).upper()
    if not text:
        return default
    currency = CURRENCY_WORDS.get(text)
    if currency is None:
        raise StatementRejected(Problem.BAD_CURRENCY, where, text)
    return currency


def account_digits(value: object) -> str:
    """An account number as its digits and letters only (spaces and hyphens of a pretty print gone)."""
    return re.sub(r"[^0-9A-Za-z]", "", clean(value)).upper()
