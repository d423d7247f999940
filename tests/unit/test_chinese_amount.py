"""Capital numerals (大写金额) as banks write them: zeros inside, group boundaries (万, 亿), 角/分 and 整;
any amount the database can hold (NUMERIC(15,2)) reads back to itself."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.chinese_amount import DIGITS, MAX_CAPITAL, capital_amount

CASES = [
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("0.05", "伍分"),
    ("0.01", "壹分"),
    ("0.50", "伍角整"),
    ("0.55", "伍角伍分"),
    ("1", "壹元整"),
    ("10", "壹拾元整"),
    ("10.50", "壹拾元伍角整"),
    ("10.05", "壹拾元零伍分"),
    ("15", "壹拾伍元整"),
    ("101", "壹佰零壹元整"),
    ("110", "壹佰壹拾元整"),
    ("1005", "壹仟零伍元整"),
    ("1010", "壹仟零壹拾元整"),
    ("10000", "壹万元整"),
    ("10001", "壹万零壹元整"),
    ("10010", "壹万零壹拾元整"),
    ("10100", "壹万零壹佰元整"),
    ("11000", "壹万壹仟元整"),
    ("100000", "壹拾万元整"),
    ("105000", "壹拾万伍仟元整"),
    ("1000001", "壹佰万零壹元整"),
    ("1250000", "壹佰贰拾伍万元整"),
    ("60036", "陆万零叁拾陆元整"),
    ("100000000", "壹亿元整"),
    ("100000001", "壹亿零壹元整"),
    ("100010000", "壹亿零壹万元整"),
    ("110000000", "壹亿壹仟万元整"),
    ("1000010000", "壹拾亿零壹万元整"),
    ("1234567890.12", "壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元壹角贰分"),
    ("20000.30", "贰万元叁角整"),
    ("9999999999999.99", "玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("1000000000000", "壹万亿元整"),
    ("1200000000000", "壹万贰仟亿元整"),
    ("1000000000001", "壹万亿零壹元整"),
    ("-3.20", "负叁元贰角整"),
    ("0.005", "壹分"),  # rounded half up to the fen
]


@pytest.mark.parametrize(("amount", "words"), CASES, ids=[c[0] for c in CASES])
def test_capital_amount(amount, words):
    assert capital_amount(Decimal(amount)) == words


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "10000000000000000"])
def test_not_an_amount_or_too_large_is_refused(bad):
    with pytest.raises(ValueError):
        capital_amount(Decimal(bad))


def _read_back(words: str) -> Decimal:
    """The amount the words say, read the way a person reads them (an independent parser)."""
    value = {d: i for i, d in enumerate(DIGITS)}
    units = {"拾": 10, "佰": 100, "仟": 1000}
    negative = words.startswith("负")
    words = words.removeprefix("负").removesuffix("整")
    yuan_part, _, fraction = words.partition("元") if "元" in words else ("", "", words)
    total = section = 0
    digit = 0
    for ch in yuan_part:
        if ch in value:
            digit = value[ch]
        elif ch in units:
            section += digit * units[ch]
            digit = 0
        elif ch == "万":
            total = (total + section + digit) * 10_000 if total % 100_000_000 or not total else \
                total + (section + digit) * 10_000
            section = digit = 0
        elif ch == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
    total += section + digit
    cents = 0
    digit = 0
    for ch in fraction:
        if ch in value:
            digit = value[ch]
        elif ch == "角":
            cents += digit * 10
            digit = 0
        elif ch == "分":
            cents += digit
            digit = 0
    amount = Decimal(total) + Decimal(cents) / 100
    return -amount if negative else amount


@given(st.integers(min_value=0, max_value=999_999_999_999_999).map(lambda c: Decimal(c) / 100))
def test_words_read_back_to_the_amount(amount):
    words = capital_amount(amount)
    assert _read_back(words) == amount, words
    assert "零零" not in words and not words.startswith("零") or words == "零元整"
    assert words.endswith("整") == (amount * 100 % 10 == 0)
    assert amount <= MAX_CAPITAL
