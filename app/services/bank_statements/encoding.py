"""Which encoding a text statement is in, decided by rules and never guessed silently: a UTF-8 BOM,
then strict UTF-8, then strict GBK, then strict GB18030. Anything else (UTF-16, Big5, Latin-1, a
binary file, a UTF-8 file broken after valid UTF-8 Chinese) is refused with the line and column of
the first byte that does not fit. The chosen encoding is returned so that finance sees it before
anything is stored."""

from __future__ import annotations

import codecs

from .lines import Position
from .problems import Problem, StatementRejected

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def position_of_byte(data: bytes, offset: int) -> Position:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return Position(line, offset - start + 1, "")


def decode_text(data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` with ``encoding`` one of ``UTF-8-SIG``, ``UTF-8``, ``GBK``, ``GB18030``."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "UTF-8-SIG"
        except UnicodeDecodeError as exc:
            raise _refuse(data, exc.start + len(codecs.BOM_UTF8), "a UTF-8 byte-order mark, then other bytes") from None
    if data.startswith(_UTF16_BOMS):
        raise StatementRejected(Problem.ENCODING, Position(1, 1, ""), "UTF-16/UTF-32")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _refuse(data, nul, "a NUL byte: a binary file")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as exc:
        if not data[:exc.start].isascii():
            # Valid UTF-8 Chinese up to here, then broken: a damaged UTF-8 file. Re-reading all of it
            # as GBK would "succeed" with mojibake, which is exactly the silent guess we refuse.
            raise _refuse(data, exc.start, f"UTF-8 broken at byte 0x{data[exc.start]:02X}") from None
    try:
        return data.decode("gbk"), "GBK"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError as exc:  # GB18030 holds GBK: its first bad byte fits none of the three
        raise _refuse(data, exc.start, f"byte 0x{data[exc.start]:02X}") from None


def _refuse(data: bytes, offset: int, detail: str) -> StatementRejected:
    return StatementRejected(Problem.ENCODING, position_of_byte(data, offset), detail)
