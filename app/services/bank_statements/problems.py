"""Why a bank statement file is refused: one ``StatementRejected`` naming the problem, the line and
the column, in the user's language (app/i18n/zh/bank_statements.po; ``describe()`` again in
another request's language). A refused file stores nothing:
reading never touches the database."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from ...domain.errors import ValidationFailed
from .lines import Position


class Problem(StrEnum):
    EMPTY_FILE = "EMPTY_FILE"
    TOO_LARGE = "TOO_LARGE"
    ENCODING = "ENCODING"
    UNKNOWN_FORMAT = "UNKNOWN_FORMAT"
    MALFORMED = "MALFORMED"
    MISSING_COLUMN = "MISSING_COLUMN"
    MISSING_VALUE = "MISSING_VALUE"
    BAD_AMOUNT = "BAD_AMOUNT"
    BAD_DATE = "BAD_DATE"
    BAD_CURRENCY = "BAD_CURRENCY"
    NOT_A_CREDIT = "NOT_A_CREDIT"
    OTHER_ACCOUNT = "OTHER_ACCOUNT"
    DUPLICATE_LINE = "DUPLICATE_LINE"


# The text of each problem; %(detail)s carries the value or the reason that is specific to the case.
TEXTS = {
    Problem.EMPTY_FILE: _l("The file is empty."),
    Problem.TOO_LARGE: _l("The file is larger than %(detail)s; split it by day or by account."),
    Problem.ENCODING: _l("The text is neither UTF-8 nor GBK/GB18030 (%(detail)s); save the file as UTF-8 or GBK."),
    Problem.UNKNOWN_FORMAT: _l("This is not a bank statement we can read (%(detail)s). Upload CSV, XLSX, "
                               "MT940 or camt.053."),
    Problem.MALFORMED: _l("The file cannot be read here: %(detail)s."),
    Problem.MISSING_COLUMN: _l("The column %(detail)s is missing."),
    Problem.MISSING_VALUE: _l("This value is required but empty."),
    Problem.BAD_AMOUNT: _l("\"%(detail)s\" is not an amount with at most two decimals."),
    Problem.BAD_DATE: _l("\"%(detail)s\" is not a date."),
    Problem.BAD_CURRENCY: _l("The currency %(detail)s is not CNY."),
    Problem.NOT_A_CREDIT: _l("A credit must be a positive amount, not %(detail)s."),
    Problem.OTHER_ACCOUNT: _l("The account %(detail)s is not one of our WIRE receiving accounts."),
    Problem.DUPLICATE_LINE: _l("The bank reference %(detail)s appears twice in this file (first on line %(first)s)."),
}
WHERE = _l("Line %(line)s, column %(column)s (%(name)s): %(text)s")
WHERE_FILE = _l("File: %(text)s")


class StatementRejected(ValidationFailed):
    """The file is refused. ``problem`` is a stable code, ``position`` where (None: the file as a
    whole: empty, too large, unknown format), ``detail`` the value or reason."""

    code = "VALIDATION_ERROR"

    def __init__(self, problem: Problem, position: Position | None = None, detail: str = "",
                 first: int | None = None):
        self.problem = problem
        self.position = position
        self.detail = detail
        self.first = first
        super().__init__(self.describe(), field="file")

    def describe(self) -> str:
        """The message in the current request's language (Flask-Babel; English outside a request)."""
        params = {"detail": self.detail, "first": self.first if self.first is not None else ""}
        text = str(TEXTS[self.problem]) % params
        if self.position is None:
            return str(WHERE_FILE) % {"text": text}
        return str(WHERE) % {"line": self.position.line, "column": self.position.column,
                             "name": self.position.name or "-", "text": text}
