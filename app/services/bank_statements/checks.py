"""The checks every statement format shares, made while its lines are read so that the error names
the exact line and column: the line is on one of our WIRE receiving accounts, and its bank
reference (流水号) appears once in the file."""

from __future__ import annotations

from collections.abc import Iterable

from .lines import Position
from .problems import Problem, StatementRejected
from .values import account_digits


class FileChecks:
    """One per file read. ``our_accounts``: the receiving accounts of the WIRE channels (their config's
    ``account_no``; ``accounts.wire_receiving_accounts``), compared by digits and letters only."""

    def __init__(self, our_accounts: Iterable[str]):
        self.our_accounts = {account_digits(a) for a in our_accounts if account_digits(a)}
        self._seen: dict[tuple[str, str], Position] = {}

    def account(self, value: object, where: Position) -> str:
        """The account as stored (its digits) when it is ours; refused otherwise."""
        account = account_digits(value)
        if not account:
            raise StatementRejected(Problem.MISSING_VALUE, where)
        if account not in self.our_accounts:
            raise StatementRejected(Problem.OTHER_ACCOUNT, where, str(value).strip())
        return account

    def unique(self, reference: str, account: str, where: Position) -> str:
        """The bank reference, refused when the file already had it for the same account."""
        reference = reference.strip()
        if not reference:
            raise StatementRejected(Problem.MISSING_VALUE, where)
        first = self._seen.setdefault((account, reference), where)
        if first != where:
            raise StatementRejected(Problem.DUPLICATE_LINE, where, reference, first=first.line)
        return reference
