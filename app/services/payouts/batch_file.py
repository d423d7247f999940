"""Reading a batch payout file (批量付款, docs/DOMAIN.md §9) into header-checked rows of text, before any
row rule runs (``batch_rows``).

The file is recognised by its content, never by its name: an XLSX workbook (a ZIP that openpyxl opens:
the first sheet), else CSV text in UTF-8 (with or without BOM) or, failing that, GBK. Text that is
neither is refused (``BatchFileRefused`` with code ``encoding``): the encoding is never guessed beyond
those two. The header row names the columns with the disbursement API's field names or their Chinese
headings; a missing or unknown column refuses the whole file. Rows that are entirely empty are skipped,
but keep their place in the numbering, so that ``row_no`` is the 1-based data row the user sees.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from openpyxl import load_workbook

MAX_ROWS = 10_000
# column -> the headings a file may use for it (compared case-insensitively, spaces ignored)
COLUMNS: dict[str, tuple[str, ...]] = {
    "bankAccountName": ("bankaccountname", "收款人"),
    "bankAccountNo": ("bankaccountno", "收款账号"),
    "bankCode": ("bankcode", "银行代码"),
    "amount": ("amount", "金额"),
    "purpose": ("purpose", "用途"),
}
REQUIRED = ("bankAccountName", "bankAccountNo", "bankCode", "amount")
CHINESE_HEADINGS = tuple(names[1] for names in COLUMNS.values())
_HEADING = {name: column for column, names in COLUMNS.items() for name in names}


class BatchFileRefused(Exception):
    """The file as a whole cannot be read: ``code`` is one of encoding, empty, format, missing_columns,
    unknown_columns, duplicate_columns, too_many_rows; ``params`` fill the message."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class RawRow:
    row_no: int
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawFile:
    kind: str  # CSV-UTF-8 | CSV-GBK | XLSX
    rows: list[RawRow]


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text the user typed: integers without '.0', decimals exactly."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)  # the shortest text that reads back as this float (no binary noise)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def _decode(data: bytes) -> tuple[str, str]:
    if b"\x00" in data:
        raise BatchFileRefused("encoding")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "CSV-UTF-8"
        except UnicodeDecodeError:
            raise BatchFileRefused("encoding") from None
    try:
        return data.decode("utf-8"), "CSV-UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gbk"), "CSV-GBK"
    except UnicodeDecodeError:
        raise BatchFileRefused("encoding") from None


def _csv_table(data: bytes) -> tuple[list[list[str]], str]:
    text, kind = _decode(data)
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""))], kind
    except csv.Error:
        raise BatchFileRefused("format") from None


def _xlsx_table(data: bytes) -> list[list[str]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise BatchFileRefused("format") from None
    try:
        sheet = book.worksheets[0]
        table = []
        for row in sheet.iter_rows(values_only=True):
            table.append([_cell_text(v) for v in row])
            if len(table) > MAX_ROWS + 1:
                break
        return table
    finally:
        book.close()


def _header(cells: list[str]) -> list[str | None]:
    columns: list[str | None] = []
    unknown: list[str] = []
    for cell in cells:
        key = "".join(cell.split()).lower()
        if not key:
            columns.append(None)
            continue
        column = _HEADING.get(key)
        if column is None:
            unknown.append(cell)
        columns.append(column)
    if unknown:
        raise BatchFileRefused("unknown_columns", columns=", ".join(unknown))
    named = [c for c in columns if c]
    if len(named) != len(set(named)):
        raise BatchFileRefused("duplicate_columns")
    missing = [c for c in REQUIRED if c not in named]
    if missing:
        raise BatchFileRefused("missing_columns", columns=", ".join(missing))
    return columns


def read(data: bytes) -> RawFile:
    """The file's data rows as text by column; BatchFileRefused when the file itself cannot be used."""
    if not data.strip():
        raise BatchFileRefused("empty")
    if data.startswith(b"PK\x03\x04"):
        table, kind = _xlsx_table(data), "XLSX"
    else:
        table, kind = _csv_table(data)
    while table and not any(table[0]):
        table.pop(0)
    if not table:
        raise BatchFileRefused("empty")
    columns = _header(table[0])
    rows = []
    for i, cells in enumerate(table[1:], start=1):
        if not any(cells):
            continue
        values = {column: (cells[j] if j < len(cells) else "") for j, column in enumerate(columns) if column}
        if any(cells[j] for j in range(len(columns), len(cells))):
            values["_extra"] = "1"  # text beyond the named columns: the row is refused
        rows.append(RawRow(i, values))
        if len(rows) > MAX_ROWS:
            raise BatchFileRefused("too_many_rows", limit=MAX_ROWS)
    if not rows:
        raise BatchFileRefused("empty")
    return RawFile(kind, rows)
