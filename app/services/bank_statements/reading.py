"""The one entry point: an uploaded statement file read into a ``ParsedStatement``, or refused with a
``StatementRejected`` naming the problem, line and column. Reading stores nothing; the size limit is
checked before anything is parsed (``read_upload`` stops reading a stream one byte past it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from .camt053 import camt053_lines, is_camt053, parse_xml
from .checks import FileChecks
from .detection import binary_format, text_format
from .encoding import decode_text
from .lines import ParsedStatement, StatementFormat
from .mt940_reader import mt940_lines
from .problems import Problem, StatementRejected
from .profiles import PROFILES
from .tabular import csv_table, table_lines, xlsx_table

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def _too_large(max_bytes: int) -> StatementRejected:
    return StatementRejected(Problem.TOO_LARGE, None, f"{max_bytes // (1024 * 1024)} MB"
                             if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes")


def read_upload(stream: BinaryIO, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of an upload, refused as soon as it is larger than ``max_bytes`` (a 100 MB upload
    is never read whole)."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def read_statement(data: bytes, our_accounts: Iterable[str], *, profile: str | None = None,
                   max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedStatement:
    """Every line of the file, checked: on one of ``our_accounts``, each bank reference once, amounts
    and dates that parse, a credit positive. ``profile`` forces a CSV/XLSX bank profile
    (``profiles.PROFILES``); by default it is recognised from the header row."""
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"unknown bank profile {profile!r}")
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    checks = FileChecks(our_accounts)
    if binary_format(data) is StatementFormat.XLSX:
        code, lines = table_lines(xlsx_table(data), checks, profile)
        return ParsedStatement(StatementFormat.XLSX, None, code, tuple(lines))
    text, encoding = decode_text(data)
    fmt = text_format(text)
    if fmt is StatementFormat.CAMT053:
        root = parse_xml(data)
        if not is_camt053(root):
            raise StatementRejected(Problem.UNKNOWN_FORMAT, None, "an XML document that is not camt.053")
        return ParsedStatement(fmt, encoding, None, tuple(camt053_lines(root, text, checks)))
    if fmt is StatementFormat.MT940:
        return ParsedStatement(fmt, encoding, None, tuple(mt940_lines(text, checks)))
    code, lines = table_lines(csv_table(text), checks, profile)
    return ParsedStatement(StatementFormat.CSV, encoding, code, tuple(lines))
