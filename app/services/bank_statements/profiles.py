"""Column-mapping profiles of the banks whose CSV/XLSX exports we read (docs/DOMAIN.md "Bank
statement files"). A profile names, for each field of a bank line, the header texts that bank uses
for it; headers are compared after NFKC (so ``（收入）`` and ``(收入)`` are the same) and trimming.

The profile of a file is recognised from its header row (content, not the file name): the first row
within the first ``HEADER_SEARCH_ROWS`` rows that holds every required header of a profile. A new
bank is one more entry in ``PROFILES``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .lines import Direction
from .values import clean

HEADER_SEARCH_ROWS = 20


class AmountStyle(StrEnum):
    DEBIT_CREDIT = "DEBIT_CREDIT"  # two columns: money out, money in (both positive)
    AMOUNT_DIRECTION = "AMOUNT_DIRECTION"  # one positive amount and a credit/debit mark


# Fields of a bank line a profile can map.
FIELDS = ("our_account", "booking_date", "value_date", "debit_amount", "credit_amount", "amount", "direction",
          "currency", "payer_name", "payer_account", "memo", "bank_reference")


@dataclass(frozen=True)
class BankProfile:
    code: str
    name: str
    amount_style: AmountStyle
    headers: Mapping[str, tuple[str, ...]]  # field -> accepted header texts (the first is the canonical one)
    required: tuple[str, ...]

    def canonical(self, field: str) -> str:
        return self.headers[field][0]


def _profile(code: str, name: str, style: AmountStyle, headers: dict[str, tuple[str, ...]]) -> BankProfile:
    amounts = ("debit_amount", "credit_amount") if style is AmountStyle.DEBIT_CREDIT else ("amount", "direction")
    required = ("our_account", "booking_date", *amounts, "bank_reference")
    normalised = {field: tuple(clean(h) for h in texts) for field, texts in headers.items()}
    return BankProfile(code, name, style, normalised, required)


PROFILES: dict[str, BankProfile] = {p.code: p for p in (
    _profile("ICBC", "中国工商银行 ICBC", AmountStyle.DEBIT_CREDIT, {
        "our_account": ("本方账号", "账号"),
        "booking_date": ("交易日期", "交易时间"),
        "value_date": ("起息日", "起息日期"),
        "debit_amount": ("借方发生额", "借方金额"),
        "credit_amount": ("贷方发生额", "贷方金额"),
        "currency": ("币种",),
        "payer_name": ("对方户名", "对方单位名称"),
        "payer_account": ("对方账号",),
        "memo": ("用途", "附言", "摘要"),
        "bank_reference": ("交易流水号", "流水号"),
    }),
    _profile("CCB", "中国建设银行 CCB", AmountStyle.DEBIT_CREDIT, {
        "our_account": ("账号",),
        "booking_date": ("交易时间", "记账日期"),
        "value_date": ("起息日期",),
        "debit_amount": ("借方发生额（支取）",),
        "credit_amount": ("贷方发生额（收入）",),
        "currency": ("币种",),
        "payer_name": ("对方户名",),
        "payer_account": ("对方账号",),
        "memo": ("摘要", "备注"),
        "bank_reference": ("账户明细编号-交易流水号",),
    }),
    _profile("GENERIC", "Generic (English headers)", AmountStyle.AMOUNT_DIRECTION, {
        "our_account": ("account",),
        "booking_date": ("booking_date",),
        "value_date": ("value_date",),
        "amount": ("amount",),
        "direction": ("direction",),
        "currency": ("currency",),
        "payer_name": ("payer_name",),
        "payer_account": ("payer_account",),
        "memo": ("memo",),
        "bank_reference": ("reference",),
    }),
)}

CREDIT_MARKS = {"C", "CR", "CRDT", Direction.CREDIT.value, "贷", "收", "收入"}
DEBIT_MARKS = {"D", "DR", "DBIT", Direction.DEBIT.value, "借", "支", "支出"}
FOOTER_WORDS = ("合计", "总计", "TOTAL")


@dataclass(frozen=True)
class HeaderMatch:
    profile: BankProfile
    row_index: int  # index in the rows given
    columns: Mapping[str, int]  # field -> 0-based column
    missing: tuple[str, ...]  # required fields without a column (empty when the profile fits)


def match_header(cells: list[object], profile: BankProfile, row_index: int) -> HeaderMatch:
    """Which of ``profile``'s fields this row has a header for. Where two profile fields share a
    header text (ICBC's ``账号``), the earlier field in ``FIELDS`` takes it."""
    texts = [clean(c) for c in cells]
    columns: dict[str, int] = {}
    taken: set[int] = set()
    for field in FIELDS:
        for header in profile.headers.get(field, ()):
            if header in texts and texts.index(header) not in taken:
                columns[field] = texts.index(header)
                taken.add(columns[field])
                break
    missing = tuple(f for f in profile.required if f not in columns)
    return HeaderMatch(profile, row_index, columns, missing)


def find_header(rows: list[list[object]], profile_code: str | None = None) -> HeaderMatch:
    """The header row and profile of a table (``profile_code`` forces one). When nothing fits, the
    closest match (most headers found) is returned with what it misses, for the error."""
    profiles = [PROFILES[profile_code]] if profile_code else list(PROFILES.values())
    best: HeaderMatch | None = None
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        for profile in profiles:
            found = match_header(cells, profile, index)
            if not found.missing:
                return found
            if best is None or len(found.columns) > len(best.columns):
                best = found
    assert best is not None  # rows is never empty here: an empty file is refused before
    return best
