"""Writing a table as CSV or XLSX, streamed (constant memory), for every export of the portal
(order lists, transactions, batch-payout result files; docs/SECURITY.md "Spreadsheet exports").

- Text cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR) get a
  leading ``'`` in both formats (``safe_text``); XLSX text cells are also typed as strings.
- Amounts (``Decimal``) are plain decimal text with two places in CSV, numbers with ``#,##0.00`` in XLSX.
- CSV starts with a UTF-8 BOM so that Excel reads it as UTF-8; XLSX uses openpyxl's write-only mode.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_EVERY = 500


def safe_text(value: str | None) -> str:
    """The text, with a leading ``'`` when a spreadsheet would read it as a formula."""
    text = value or ""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_cell(value: object) -> str:
    """One CSV cell: amounts with two places, times as ``YYYY-MM-DD HH:MM:SS``, text formula-safe."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return safe_text(str(value))


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]],
               progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The CSV file in pieces: BOM and header first, then about every 200 rows; ``progress(n)`` every
    ``PROGRESS_EVERY`` rows and once at the end."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_text(h) for h in header])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    n = 0
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        n += 1
        if n % 200 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
        if progress and n % PROGRESS_EVERY == 0:
            progress(n)
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
    if progress:
        progress(n)


def write_xlsx(target: str | os.PathLike[str] | BinaryIO, sheet: str, header: Sequence[str],
               rows: Iterable[Sequence[object]], widths: Sequence[int] = (),
               progress: Callable[[int], None] | None = None) -> int:
    """An XLSX workbook of one sheet into ``target`` (a path or a binary file), written row by row
    (openpyxl write-only); returns the row count."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.freeze_panes = "A2"
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.append(list(header))
    n = 0
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=safe_text(value) if isinstance(value, str) else value)  # type: ignore[arg-type]
            if isinstance(value, Decimal):
                cell.number_format = "#,##0.00"
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            cells.append(cell)
        ws.append(cells)
        n += 1
        if progress and n % PROGRESS_EVERY == 0:
            progress(n)
    wb.save(target)
    if progress:
        progress(n)
    return n


def write_file(path: str | os.PathLike[str], fmt: str, sheet: str, header: Sequence[str],
               rows: Iterable[Sequence[object]], widths: Sequence[int] = (),
               progress: Callable[[int], None] | None = None) -> int:
    """The table into the file at ``path`` as ``fmt`` ("csv" or "xlsx"; ``sheet`` and ``widths`` are
    XLSX's); returns the row count."""
    if fmt != "csv":
        return write_xlsx(path, sheet, header, rows, widths, progress)
    n = 0

    def counting(done: int) -> None:
        nonlocal n
        n = done
        if progress:
            progress(done)

    with open(path, "wb") as out:
        for chunk in csv_chunks(header, rows, counting):
            out.write(chunk)
    return n
