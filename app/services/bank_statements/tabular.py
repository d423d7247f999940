"""CSV and XLSX statements: a table whose header row names the columns in a bank's words
(profiles.py). Rows are turned into bank lines cell by cell; the first bad cell refuses the file
with its line (the file's line, or the sheet's row) and column."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from .checks import FileChecks
from .lines import BankLine, Direction, Position
from .problems import Problem, StatementRejected
from .profiles import CREDIT_MARKS, DEBIT_MARKS, FOOTER_WORDS, AmountStyle, HeaderMatch, find_header
from .values import account_digits, clean, parse_amount, parse_currency, parse_date


@dataclass(frozen=True)
class Table:
    rows: list[list[object]]
    line_numbers: list[int]  # the file line (CSV) or sheet row (XLSX) of each row
    column_name: Callable[[int, str], str]  # (0-based column, header) -> the name shown in errors


def csv_table(text: str) -> Table:
    """The rows of a CSV text; the delimiter (comma, semicolon, tab) is taken from the header."""
    sample = text[:4096]
    delimiter = max((",", ";", "\t"), key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[object]] = []
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            rows.append(list(row))
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise StatementRejected(Problem.MALFORMED, Position(reader.line_num, 1, ""), str(exc)) from None
    return Table(rows, lines, lambda index, header: header or f"#{index + 1}")


# A workbook is a ZIP: 20 MB of it may unpack to gigabytes of XML (a "zip bomb"). Real statements
# compress about 10:1, so more than this much unpacked is refused before openpyxl reads anything.
MAX_UNPACKED_BYTES = 400 * 1024 * 1024


def xlsx_table(data: bytes) -> Table:
    """The rows of the first sheet of an XLSX workbook (read-only, values not formulas)."""
    try:
        unpacked = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError):
        raise StatementRejected(Problem.MALFORMED, None, "not a readable XLSX workbook (BadZipFile)") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise StatementRejected(Problem.TOO_LARGE, None, f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MB unpacked")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, ValueError... on a damaged file
        what = f"not a readable XLSX workbook ({type(exc).__name__})"
        raise StatementRejected(Problem.MALFORMED, None, what) from None
    try:
        sheet = book.worksheets[0]
        rows: list[list[object]] = []
        lines: list[int] = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append(list(row))
            lines.append(number)
    finally:
        book.close()
    return Table(rows, lines, lambda index, header: f"{get_column_letter(index + 1)} {header}".strip())


def table_lines(table: Table, checks: FileChecks, profile_code: str | None) -> tuple[str, list[BankLine]]:
    """``(profile code, lines)`` of a table."""
    rows = [r for r in table.rows]
    if not any(clean(c) for row in rows for c in row):
        raise StatementRejected(Problem.EMPTY_FILE)
    header = find_header(rows, profile_code)
    header_cells = [clean(c) for c in rows[header.row_index]]
    if header.missing:
        field = header.missing[0]
        where = Position(table.line_numbers[header.row_index], len(header_cells) + 1, header.profile.canonical(field))
        raise StatementRejected(Problem.MISSING_COLUMN, where, header.profile.canonical(field))
    lines: list[BankLine] = []
    for index in range(header.row_index + 1, len(rows)):
        cells = rows[index]
        texts = [clean(c) for c in cells]
        if not any(texts):
            continue
        if next(t for t in texts if t).upper().startswith(FOOTER_WORDS):
            break
        lines.append(_row_line(table, header, header_cells, cells, table.line_numbers[index], checks))
    return header.profile.code, lines


def _row_line(table: Table, header: HeaderMatch, header_cells: list[str], cells: list[object], line_no: int,
              checks: FileChecks) -> BankLine:
    def at(field: str) -> Position:
        column = header.columns[field]
        return Position(line_no, column + 1, table.column_name(column, header_cells[column]))

    def cell(field: str) -> object:
        column = header.columns.get(field)
        return cells[column] if column is not None and column < len(cells) else None

    def text(field: str) -> str | None:
        value = cell(field)
        return str(value).strip() or None if value is not None else None

    our_account = checks.account(cell("our_account"), at("our_account"))
    booking_date = parse_date(cell("booking_date"), at("booking_date"))
    has_value_date = "value_date" in header.columns and clean(cell("value_date"))
    value_date = parse_date(cell("value_date"), at("value_date")) if has_value_date else booking_date
    amount, direction = _amount(header, cell, at)
    currency = parse_currency(cell("currency"), at("currency")) if "currency" in header.columns else "CNY"
    payer_account = account_digits(cell("payer_account")) or None
    reference = checks.unique(clean(cell("bank_reference")), our_account, at("bank_reference"))
    return BankLine(position=Position(line_no, 1, table.column_name(0, header_cells[0] if header_cells else "")),
                    value_date=value_date, booking_date=booking_date, amount=amount, direction=direction,
                    currency=currency, payer_name=text("payer_name"), payer_account=payer_account,
                    memo=text("memo") or "", bank_reference=reference, our_account=our_account)


def _amount(header: HeaderMatch, cell: Callable[[str], object],
            at: Callable[[str], Position]) -> tuple[Decimal, Direction]:
    if header.profile.amount_style is AmountStyle.DEBIT_CREDIT:
        debit = parse_amount(cell("debit_amount"), at("debit_amount"))
        credit = parse_amount(cell("credit_amount"), at("credit_amount"))
        if credit is not None and credit < 0:
            raise StatementRejected(Problem.NOT_A_CREDIT, at("credit_amount"), clean(cell("credit_amount")))
        if debit is not None and debit < 0:
            raise StatementRejected(Problem.BAD_AMOUNT, at("debit_amount"), clean(cell("debit_amount")))
        if credit and debit:
            raise StatementRejected(Problem.MALFORMED, at("credit_amount"), "a line with both a debit and a credit")
        if credit:
            return credit, Direction.CREDIT
        if debit:
            return -debit, Direction.DEBIT
        raise StatementRejected(Problem.MISSING_VALUE, at("credit_amount"))
    amount = parse_amount(cell("amount"), at("amount"))
    mark = clean(cell("direction")).upper()
    if amount is None:
        raise StatementRejected(Problem.MISSING_VALUE, at("amount"))
    if mark in CREDIT_MARKS:
        if amount <= 0:
            raise StatementRejected(Problem.NOT_A_CREDIT, at("amount"), clean(cell("amount")))
        return amount, Direction.CREDIT
    if mark in DEBIT_MARKS:
        if amount <= 0:
            raise StatementRejected(Problem.BAD_AMOUNT, at("amount"), clean(cell("amount")))
        return -amount, Direction.DEBIT
    raise StatementRejected(Problem.MALFORMED, at("direction"), f"\"{mark}\" is neither a credit nor a debit mark")
