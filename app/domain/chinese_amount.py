"""An amount in Chinese capital numerals (大写金额), as printed on receipts and cheques.

The rules (the ones banks apply to 大写 on vouchers):
- digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟 within a group of four, groups 万 and 亿;
- a run of zeros inside the number is written as one 零 (1,005 → 壹仟零伍元); zeros at the end of a
  group are not written, and a zero group writes nothing but keeps the 零 before what follows
  (100,000,001 → 壹亿零壹元);
- a group that is all zero does not write its unit (100,000,000 → 壹亿元整, not 壹亿万元);
- the group above 亿 is 万亿, shortened to 万 when a 亿 group follows (1,000,000,000,000 → 壹万亿元整,
  1,200,000,000,000 → 壹万贰仟亿元整);
- 元 after the integer part when it is not zero; 角 and 分 after the fraction's digits;
  整 when there are no 分 (10 → 壹拾元整, 10.50 → 壹拾元伍角整); 零 between 元 and 分 when 角 is zero
  (10.05 → 壹拾元零伍分), and no 零 before 分 without yuan (0.05 → 伍分);
- 10 to 19 keep their 壹 (壹拾元), as banks require;
- negative amounts start with 负; zero is 零元整.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
UNITS = ("", "拾", "佰", "仟")
GROUPS = ("", "万", "亿", "万亿")
MAX_CAPITAL = Decimal("9999999999999999.99")  # 16 integer digits: up to 仟万亿


def _group(value: int) -> str:
    """0 < value < 10,000 in capitals, zeros inside as one 零, no trailing zeros."""
    text = ""
    zero = False
    for position in range(3, -1, -1):
        digit = value // 10**position % 10
        if digit == 0:
            zero = bool(text)  # a zero after a written digit: a 零 if another digit follows
            continue
        if zero:
            text += DIGITS[0]
            zero = False
        text += DIGITS[digit] + UNITS[position]
    return text


def _integer(value: int) -> str:
    groups = []
    while value:
        groups.append(value % 10_000)
        value //= 10_000
    text = ""
    pending_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(text)
            continue
        # A zero between groups: the higher group ended in zeros, or this group has fewer than four digits.
        if text and (pending_zero or group < 1000):
            text += DIGITS[0]
        pending_zero = False
        # 万亿 before a non-zero 亿 group is written 万: 9,999,999,999,999 → 玖万玖仟…亿, as banks write it.
        unit = "万" if index == 3 and groups[2] else GROUPS[index]
        text += _group(group) + unit
    return text


def capital_amount(amount: Decimal) -> str:
    """``amount`` (yuan, rounded half up to the fen) in Chinese capital numerals.

    Raises ValueError for an amount that is not finite or beyond ``MAX_CAPITAL``."""
    if not amount.is_finite():
        raise ValueError(f"not an amount: {amount}")
    fen_total = int((abs(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if Decimal(fen_total) / 100 > MAX_CAPITAL:
        raise ValueError(f"amount too large for capital numerals: {amount}")
    sign = "负" if amount < 0 and fen_total else ""
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    if yuan == 0 and rest == 0:
        return "零元整"
    text = _integer(yuan) + "元" if yuan else ""
    if jiao:
        text += DIGITS[jiao] + "角"
    elif fen and yuan:
        text += DIGITS[0]
    if fen:
        text += DIGITS[fen] + "分"
    else:
        text += "整"
    return sign + text
