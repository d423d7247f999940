"""What a bank statement file becomes: normalised bank lines, whatever the bank's format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class StatementFormat(StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"
    MT940 = "MT940"
    CAMT053 = "CAMT053"


class Direction(StrEnum):
    CREDIT = "CREDIT"  # money in (a wire we receive)
    DEBIT = "DEBIT"  # money out


@dataclass(frozen=True)
class Position:
    """Where something is in the file: 1-based line and column, and the column's name (a CSV header,
    an XLSX column letter, an MT940 field, a camt.053 element path)."""

    line: int
    column: int
    name: str = ""


@dataclass(frozen=True)
class BankLine:
    """One booked movement on our account. ``amount`` is signed: positive for a credit, negative for a
    debit (``direction`` says the same in words). ``memo`` is the remittance information as the bank
    gives it (the wire reference code is looked for there, domain/wire_reference.py)."""

    position: Position
    value_date: date
    booking_date: date
    amount: Decimal
    direction: Direction
    currency: str
    payer_name: str | None
    payer_account: str | None
    memo: str
    bank_reference: str
    our_account: str

    @property
    def line_no(self) -> int:
        return self.position.line


@dataclass(frozen=True)
class ParsedStatement:
    """A file that was read completely and passed every check. ``encoding`` is what the text was
    decoded as (``UTF-8``, ``UTF-8-SIG``, ``GBK``, ``GB18030``; None for XLSX), shown to finance before
    anything is stored; ``profile`` the bank profile of a CSV/XLSX file."""

    format: StatementFormat
    encoding: str | None
    profile: str | None
    lines: tuple[BankLine, ...] = field(default_factory=tuple)

    @property
    def credits(self) -> tuple[BankLine, ...]:
        return tuple(line for line in self.lines if line.direction is Direction.CREDIT)
