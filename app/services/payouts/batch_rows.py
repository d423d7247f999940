"""The rules every row of a batch payout file must meet before anything is stored (docs/DOMAIN.md §9):
the same rules as a single payout (``request.validate``: account number of 6–32 digits, a configured
bank code, a name) plus an amount in yuan with at most two decimals, above 0 and within the paying
merchant's single-payout limit, and no row that repeats an earlier one (same account, bank, amount
and purpose). Every problem of every row is collected, each with a code the screen words in the
reader's language (``RowProblem``), so the user can correct the file in one go."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ...domain.money import CENT, at_most_two_decimals, money_str
from .batch_file import RawFile
from .request import ACCOUNT_RE, bank_codes

_AMOUNT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
NAME_MAX, PURPOSE_MAX = 200, 200


@dataclass(frozen=True)
class RowProblem:
    row_no: int
    field: str  # bankAccountName | bankAccountNo | bankCode | amount | purpose | row
    code: str  # required | too_long | account | bank_code | amount_format | decimals | not_positive |
    #            above_single_limit | duplicate | extra_cells
    params: dict = dataclasses.field(default_factory=dict)  # the class's own "field" hides the function


@dataclass(frozen=True)
class PayeeRow:
    row_no: int
    account_name: str
    account_no: str
    bank_code: str
    amount: Decimal
    purpose: str


@dataclass(frozen=True)
class CheckedFile:
    kind: str
    rows: list[PayeeRow]
    problems: list[RowProblem]

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows), Decimal("0.00"))


def _amount(text: str, single_limit: Decimal) -> tuple[Decimal | None, str | None, dict]:
    cleaned = text.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").replace(" ", "")
    if not cleaned:
        return None, "required", {}
    if not _AMOUNT.match(cleaned) or len(cleaned) > 20:
        return None, "amount_format", {}
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None, "amount_format", {}
    if not at_most_two_decimals(amount):
        return None, "decimals", {}
    if amount <= 0:
        return None, "not_positive", {}
    if amount > single_limit:
        return None, "above_single_limit", {"limit": money_str(single_limit)}
    return amount.quantize(CENT), None, {}


def check(raw: RawFile, single_limit: Decimal) -> CheckedFile:
    """Every row checked; ``problems`` empty means every row is a payee that may be paid."""
    codes = bank_codes()
    rows: list[PayeeRow] = []
    problems: list[RowProblem] = []
    seen: dict[tuple, int] = {}
    for raw_row in raw.rows:
        v, n = raw_row.values, raw_row.row_no
        found: list[RowProblem] = []
        name = v.get("bankAccountName", "").strip()
        account = "".join(v.get("bankAccountNo", "").split())  # "6222 0202 ..." as printed is accepted
        bank = v.get("bankCode", "").strip().upper()
        purpose = v.get("purpose", "").strip()
        if v.get("_extra"):
            found.append(RowProblem(n, "row", "extra_cells"))
        if not name:
            found.append(RowProblem(n, "bankAccountName", "required"))
        elif len(name) > NAME_MAX:
            found.append(RowProblem(n, "bankAccountName", "too_long", {"max": NAME_MAX}))
        if not account:
            found.append(RowProblem(n, "bankAccountNo", "required"))
        elif not ACCOUNT_RE.fullmatch(account):
            found.append(RowProblem(n, "bankAccountNo", "account"))
        if not bank:
            found.append(RowProblem(n, "bankCode", "required"))
        elif bank not in codes:
            found.append(RowProblem(n, "bankCode", "bank_code", {"codes": ", ".join(codes)}))
        amount, amount_problem, params = _amount(v.get("amount", ""), single_limit)
        if amount_problem:
            found.append(RowProblem(n, "amount", amount_problem, params))
        if len(purpose) > PURPOSE_MAX:
            found.append(RowProblem(n, "purpose", "too_long", {"max": PURPOSE_MAX}))
        if not found and amount is not None:
            key = (account, bank, amount, purpose)
            if key in seen:
                found.append(RowProblem(n, "row", "duplicate", {"first": seen[key]}))
            else:
                seen[key] = n
                rows.append(PayeeRow(n, name, account, bank, amount, purpose))
        problems.extend(found)
    return CheckedFile(raw.kind, rows, problems)
