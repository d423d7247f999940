"""MT940 (SWIFT customer statement) through the ``mt-940`` library (PyPI ``mt-940``; docs/DOMAIN.md
"Bank statement files" says why). The library reads the tags; this module adds what a payment
portal needs and the library does not do:

- positions: each ``:61:`` is paired with its line in the file, so an error names line and column;
- strictness: the library silently clamps an impossible day (``250230`` becomes 28 February) and
  stops an amount at the first stray character, so each ``:61:`` field is first checked against the
  SWIFT layout ``6!n[4!n]2a[1!a]15d1!a3!c`` and its dates against the calendar;
- the payer: ``:86:`` in the structured form ``/CNTP/<account>/<bic>/<name>/<city>/REMI/USTD//<memo>/``
  (the ING/SEPA keyword form) gives payer account, name and memo; free text is taken as the memo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import mt940

from ...domain.money import CENT
from .checks import FileChecks
from .lines import BankLine, Direction, Position
from .problems import Problem, StatementRejected
from .values import account_digits, parse_currency

OPTIONS = mt940.Options(unbounded_details=True, merge_keeps_values=True, case_insensitive_marks=True,
                        reversal_sign=True, strip_bom=True)
_TAG = re.compile(r"^:(\d{2}[A-Z]?|NS):")
_FIELD_61 = re.compile(r"^(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>R?[CD])(?P<funds>[A-Z])?"
                       r"(?P<amount>\d{1,12},\d{0,2})(?P<type>[NSF][A-Z0-9]{3})", re.IGNORECASE)


@dataclass(frozen=True)
class _Tag:
    tag: str
    line: int
    text: str  # the tag's content on its first line


def _tags(text: str) -> list[_Tag]:
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        m = _TAG.match(raw)
        if m:
            found.append(_Tag(m.group(1), number, raw[m.end():]))
    return found


def _check_61(tag: _Tag) -> None:
    m = _FIELD_61.match(tag.text)
    if not m:
        prefix = re.match(r"^\d{6}(\d{4})?R?[CD][A-Z]?", tag.text, re.IGNORECASE)
        if prefix is None:
            raise StatementRejected(Problem.BAD_DATE, Position(tag.line, 5, ":61: value date"), tag.text[:10])
        column = 5 + prefix.end()
        raise StatementRejected(Problem.BAD_AMOUNT, Position(tag.line, column, ":61: amount"),
                                tag.text[prefix.end():prefix.end() + 18])
    try:
        value = datetime.strptime(m.group("value"), "%y%m%d").date()
    except ValueError:
        raise StatementRejected(Problem.BAD_DATE, Position(tag.line, 5, ":61: value date"), m.group("value")) from None
    if m.group("entry"):
        try:
            date(value.year, int(m.group("entry")[:2]), int(m.group("entry")[2:]))
        except ValueError:
            raise StatementRejected(Problem.BAD_DATE, Position(tag.line, 11, ":61: entry date"),
                                    m.group("entry")) from None


def _details(raw: str | None) -> tuple[str | None, str | None, str]:
    """``(payer account, payer name, memo)`` of an ``:86:`` (its lines joined as SWIFT wraps them)."""
    text = (raw or "").replace("\n", "")
    if "/REMI/" not in text and "/CNTP/" not in text:
        return None, None, text.strip()
    memo = ""
    head = text
    if "/REMI/" in text:
        head, _, remi = text.partition("/REMI/")
        remi = remi.removeprefix("USTD//").removeprefix("STRD//")
        memo = remi[:-1] if remi.endswith("/") else remi
    account = name = None
    if "/CNTP/" in head:
        parts = head.partition("/CNTP/")[2].split("/")
        account = account_digits(parts[0]) or None if parts else None
        name = parts[2].strip() or None if len(parts) > 2 else None
    return account, name, memo.strip()


def mt940_lines(text: str, checks: FileChecks) -> list[BankLine]:
    tags = _tags(text)
    if not tags:
        raise StatementRejected(Problem.EMPTY_FILE)
    account_tags = [t for t in tags if t.tag == "25"]
    if not account_tags:
        raise StatementRejected(Problem.MISSING_COLUMN, Position(1, 1, ":25:"), ":25: (account)")
    statement_tags = [t for t in tags if t.tag == "61"]
    for checked in statement_tags:
        _check_61(checked)
    try:
        statements = mt940.parse_statements(text, options=OPTIONS)
    except Exception as exc:  # the library raises RuntimeError, ValueError, KeyError on what it cannot read
        raise StatementRejected(Problem.MALFORMED, None, f"MT940: {exc}") from None
    lines: list[BankLine] = []
    positions = iter(statement_tags)
    accounts = iter(account_tags)
    for statement in statements:
        account_tag = next(accounts, account_tags[-1])
        where_account = Position(account_tag.line, 5, ":25: account")
        account = checks.account(statement.data.get("account_identification"), where_account)
        for transaction in statement:
            tag = next(positions, None)
            if tag is None:  # the library made a transaction of something that is not a :61:
                raise StatementRejected(Problem.MALFORMED, None, "MT940: a transaction without its :61: line")
            data = transaction.data
            where = Position(tag.line, 5, ":61:")
            currency = parse_currency(data.get("currency") or "CNY", where)
            amount = data["amount"].amount
            direction = Direction.CREDIT if amount > 0 else Direction.DEBIT
            reference = data.get("bank_reference") or data.get("customer_reference") or ""
            ref_column = 5 + tag.text.find("//") + 2 if "//" in tag.text else 5
            reference = checks.unique(reference, account, Position(tag.line, ref_column, ":61: bank reference"))
            payer_account, payer_name, memo = _details(data.get("transaction_details"))
            value_date = date(data["date"].year, data["date"].month, data["date"].day)
            entry = data.get("entry_date") or value_date
            lines.append(BankLine(
                position=where, value_date=value_date, booking_date=date(entry.year, entry.month, entry.day),
                amount=amount.quantize(CENT), direction=direction, currency=currency,
                payer_name=payer_name, payer_account=payer_account, memo=memo, bank_reference=reference,
                our_account=account))
    return lines
