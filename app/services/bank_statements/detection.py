"""Which format a statement file is in, from its content only (never the file name): the first
bytes for XLSX (a ZIP) and refusals of look-alikes (an old .xls, a PDF), then the decoded text:
XML whose root is a camt.053 document, MT940 tags (``:20:`` and ``:25:``/``:61:`` at line starts, or a
SWIFT ``{1:`` block), otherwise a delimited table (CSV)."""

from __future__ import annotations

import re

from .lines import StatementFormat
from .problems import Problem, StatementRejected

_MT940_REFERENCE = re.compile(r"^:20:", re.MULTILINE)
_MT940_BODY = re.compile(r"^:(25|61|60[FM]):", re.MULTILINE)
_REFUSED_MAGIC = (
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 .xls workbook: save it as XLSX or CSV"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)


def binary_format(data: bytes) -> StatementFormat | None:
    """XLSX for a ZIP container; None for text (decoded next); refused for known other files."""
    if not data.strip():
        raise StatementRejected(Problem.EMPTY_FILE)
    if data.startswith(b"PK\x03\x04"):
        return StatementFormat.XLSX
    for magic, what in _REFUSED_MAGIC:
        if data.startswith(magic):
            raise StatementRejected(Problem.UNKNOWN_FORMAT, None, what)
    return None


def text_format(text: str) -> StatementFormat:
    stripped = text.lstrip()
    if not stripped:
        raise StatementRejected(Problem.EMPTY_FILE)
    if stripped.startswith("<"):
        return StatementFormat.CAMT053  # confirmed by the root's namespace when parsed
    if stripped.startswith("{1:") or (_MT940_REFERENCE.search(text) and _MT940_BODY.search(text)):
        return StatementFormat.MT940
    return StatementFormat.CSV
